/**
 * The `limits` option: rate limits on incoming events and bytes, admission
 * control of new handshakes, load shedding. Every limit is off unless given;
 * `resolveLimits` validates the whole object once, at `new Server()`.
 */
import { invalidOption } from "../../core/errors.js";
import type { Socket } from "../socket.js";

/** What a rate-limited event gets. */
export type LimitAction = "drop" | "disconnect" | ((info: RateLimitInfo) => void);

/** What the `action` callback of a limit receives. */
export interface RateLimitInfo {
  /** The socket that sent the event. */
  socket: Socket<any, any, any, any>;
  /** The event's name. */
  event: string;
  /** Which limit: `events`, `perEvent`, `eventsPerAddress` or `bytes`. */
  limit: "events" | "perEvent" | "eventsPerAddress" | "bytes";
  /** When the limit would take this event again, in milliseconds. */
  retryAfterMs: number;
  /** The client's address, as the limits see it (see `limits.proxy`). */
  address: string;
}

/** A token bucket: `rate` tokens per second, at most `burst` saved up. */
export interface RateLimit {
  /** Tokens added per second (events, or bytes for `limits.bytes`). @default none: required */
  rate: number;
  /** Most tokens saved up (the largest burst let through at once). @default rate */
  burst?: number;
  /**
   * What an event over the limit gets: `"drop"` (its ack, if any, is answered
   * with `{ error: "rate_limited", event, retryAfterMs }`), `"disconnect"`
   * (the client is disconnected with the cause `rate_limited`), or a
   * function, called with what happened (the event is dropped as with
   * `"drop"`; the function may disconnect the socket itself).
   * @default "drop"
   */
  action?: LimitAction;
}

/** The handshake rate limits take no action: a handshake over the limit is refused. */
export interface HandshakeRate {
  /** Handshakes per second. @default none: required */
  rate: number;
  /** Most handshakes let through at once. @default rate */
  burst?: number;
}

/** Where the client's address comes from behind a reverse proxy or load balancer. */
export interface ProxyOptions {
  /**
   * The header your proxy sets, e.g. `"x-forwarded-for"` (a comma-separated
   * list, each proxy appending the address it got the request from) or
   * `"x-real-ip"`. Only set this when every request goes through proxies you
   * run: a client reaching the server directly could write anything there.
   * @default none: required
   */
  header: string;
  /**
   * How many proxies you run in front of the server: the address taken is
   * the `hops`-th entry from the right of the header (what the outermost of
   * your proxies saw), never one a client wrote further left.
   * @default 1
   */
  hops?: number;
}

/** The `limits` server option. Every limit is off unless given. */
export interface LimitsOptions {
  /** Per socket, every event together. @default none */
  events?: RateLimit;
  /** Per socket, one event name each (in addition to `events`). @default none */
  perEvent?: Record<string, RateLimit>;
  /** Per client address, every event of every socket from it together. @default none */
  eventsPerAddress?: RateLimit;
  /**
   * Incoming bytes per second per connection (Engine.IO messages, binary
   * attachments included; text counted in UTF-16 code units). A message
   * always gets through while the bucket is not in debt, so a single message
   * larger than `burst` is taken and paid back over time. @default none
   */
  bytes?: RateLimit;
  /** Open connections per client address; past it, new handshakes get 429. @default none */
  connectionsPerAddress?: number;
  /** New handshakes per client address; past it, 429. @default none */
  handshakesPerAddress?: HandshakeRate;
  /** New handshakes of the whole server; past it, 503 (another node may take them). @default none */
  handshakes?: HandshakeRate;
  /**
   * Load shedding: while the event loop's delay is above this many
   * milliseconds (sampled every 50 ms while set), and for `sheddingHoldMs`
   * after, new handshakes get 503 with Retry-After; connected clients keep
   * being served. @default none
   */
  maxEventLoopDelayMs?: number;
  /** How long shedding lasts after the last overloaded sample. @default 1000 */
  sheddingHoldMs?: number;
  /** Read the client's address from a proxy's header (see ProxyOptions). @default the TCP peer address */
  proxy?: ProxyOptions;
  /**
   * IPv6 addresses are counted per network of this prefix length: one
   * client usually has a whole /64. 128 counts each address apart.
   * @default 64
   */
  ipv6Prefix?: number;
  /**
   * Most client addresses whose counters are kept while they have no open
   * connection (the least recently seen go first); addresses with open
   * connections are always kept. @default 10000
   */
  maxAddresses?: number;
  /**
   * Events of one socket waiting behind an asynchronous schema (events reach
   * handlers in order); past it, the client is disconnected with the cause
   * `rate_limited`. @default 100
   */
  maxPendingEvents?: number;
}

export interface ResolvedRate {
  /** Tokens per millisecond. */
  perMs: number;
  burst: number;
  action: LimitAction;
}

export interface ResolvedLimits {
  events: ResolvedRate | null;
  perEvent: Map<string, ResolvedRate> | null;
  eventsPerAddress: ResolvedRate | null;
  bytes: ResolvedRate | null;
  connectionsPerAddress: number;
  handshakesPerAddress: ResolvedRate | null;
  handshakes: ResolvedRate | null;
  maxEventLoopDelayMs: number;
  sheddingHoldMs: number;
  proxyHeader: string | null;
  proxyHops: number;
  ipv6Prefix: number;
  maxAddresses: number;
  maxPendingEvents: number;
  /** Whether any per-connection limit is set (events, bytes): connections then carry a policy. */
  perConnection: boolean;
  /** Whether the engine's admission step is needed. */
  admission: boolean;
  /** Whether per-address state is kept. */
  perAddress: boolean;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function positive(name: string, v: unknown, what = "a positive number"): number {
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) throw invalidOption(name, what, v);
  return v;
}

function wholeNumber(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
    throw invalidOption(name, `a whole number from ${min} to ${max}`, v);
  }
  return v as number;
}

function rate(name: string, v: unknown, withAction: boolean): ResolvedRate | null {
  if (v === undefined) return null;
  if (v === null || typeof v !== "object") throw invalidOption(name, "an object { rate, burst?, action? }", v);
  const r = v as RateLimit;
  const perSecond = positive(`${name}.rate`, r.rate, "a positive number per second");
  const burst = r.burst === undefined ? perSecond : positive(`${name}.burst`, r.burst, "a positive number");
  const action = r.action ?? "drop";
  if (!withAction && r.action !== undefined) {
    throw invalidOption(`${name}.action`, "nothing: a handshake over this limit is always refused", r.action);
  }
  if (action !== "drop" && action !== "disconnect" && typeof action !== "function") {
    throw invalidOption(`${name}.action`, '"drop", "disconnect" or a function', action);
  }
  return { perMs: perSecond / 1000, burst, action };
}

/** Validates `limits` once; undefined (or `{}`) gives null: nothing is configured. */
export function resolveLimits(limits: LimitsOptions | undefined): ResolvedLimits | null {
  if (limits === undefined || limits === null) return null;
  if (typeof limits !== "object") throw invalidOption("limits", "an object (see LimitsOptions)", limits);
  const events = rate("limits.events", limits.events, true);
  let perEvent: Map<string, ResolvedRate> | null = null;
  if (limits.perEvent !== undefined) {
    if (limits.perEvent === null || typeof limits.perEvent !== "object") {
      throw invalidOption("limits.perEvent", "an object of event names to { rate, burst?, action? }", limits.perEvent);
    }
    perEvent = new Map();
    for (const name of Object.keys(limits.perEvent)) {
      perEvent.set(name, rate(`limits.perEvent.${name}`, limits.perEvent[name], true) as ResolvedRate);
    }
    if (perEvent.size === 0) perEvent = null;
  }
  const eventsPerAddress = rate("limits.eventsPerAddress", limits.eventsPerAddress, true);
  const bytes = rate("limits.bytes", limits.bytes, true);
  const connectionsPerAddress =
    limits.connectionsPerAddress === undefined ? 0 : wholeNumber("limits.connectionsPerAddress", limits.connectionsPerAddress, 1);
  const handshakesPerAddress = rate("limits.handshakesPerAddress", limits.handshakesPerAddress, false);
  const handshakes = rate("limits.handshakes", limits.handshakes, false);
  const maxEventLoopDelayMs =
    limits.maxEventLoopDelayMs === undefined ? 0 : positive("limits.maxEventLoopDelayMs", limits.maxEventLoopDelayMs, "a positive number of milliseconds");
  const sheddingHoldMs =
    limits.sheddingHoldMs === undefined ? 1000 : positive("limits.sheddingHoldMs", limits.sheddingHoldMs, "a positive number of milliseconds");
  let proxyHeader: string | null = null;
  let proxyHops = 1;
  if (limits.proxy !== undefined) {
    const proxy = limits.proxy;
    if (proxy === null || typeof proxy !== "object" || typeof proxy.header !== "string" || !HEADER_NAME.test(proxy.header)) {
      throw invalidOption("limits.proxy", 'an object { header, hops? } with a header name such as "x-forwarded-for"', proxy);
    }
    proxyHeader = proxy.header.toLowerCase();
    proxyHops = proxy.hops === undefined ? 1 : wholeNumber("limits.proxy.hops", proxy.hops, 1, 32);
  }
  const ipv6Prefix = limits.ipv6Prefix === undefined ? 64 : wholeNumber("limits.ipv6Prefix", limits.ipv6Prefix, 16, 128);
  const maxAddresses = limits.maxAddresses === undefined ? 10_000 : wholeNumber("limits.maxAddresses", limits.maxAddresses, 1);
  const maxPendingEvents = limits.maxPendingEvents === undefined ? 100 : wholeNumber("limits.maxPendingEvents", limits.maxPendingEvents, 1);
  const perAddress = eventsPerAddress !== null || connectionsPerAddress > 0 || handshakesPerAddress !== null;
  return {
    events,
    perEvent,
    eventsPerAddress,
    bytes,
    connectionsPerAddress,
    handshakesPerAddress,
    handshakes,
    maxEventLoopDelayMs,
    sheddingHoldMs,
    proxyHeader,
    proxyHops,
    ipv6Prefix,
    maxAddresses,
    maxPendingEvents,
    perConnection: events !== null || perEvent !== null || eventsPerAddress !== null || bytes !== null,
    admission: perAddress || handshakes !== null || maxEventLoopDelayMs > 0,
    perAddress,
  };
}
