/**
 * One per Socket.IO server with `limits`: the admission step the engine
 * asks about every new handshake (load shedding, the global handshake rate,
 * per-address connections and handshake rate), the per-address table, and
 * what every connection's InboundPolicy shares.
 *
 * Statuses, as load balancers read them: the server as a whole cannot take
 * more (overload, global rate) is 503 (try another node); one address
 * asking too much is 429 (that client must slow down). Both carry
 * Retry-After and the JSON body `{ code, message, cause, retryAfter }`.
 */
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import { logger } from "../../core/debug.js";
import type { Admission } from "../../engine/admission.js";
import { SERVICE_UNAVAILABLE, TOO_MANY_REQUESTS, type Refusal } from "../../engine/errors.js";
import type { Socket as EngineSocket } from "../../engine/index.js";
import type { RefusalCause } from "../../observe/counters.js";
import { clientAddress } from "./address.js";
import { AddressTable, type AddressState } from "./address-table.js";
import { TokenBucket } from "./bucket.js";
import { LoopMonitor } from "./loop-monitor.js";
import type { ResolvedLimits } from "./options.js";

const log = logger("io", "policy");

/** How often idle per-address entries whose buckets refilled are dropped. */
const SWEEP_MS = 10_000;
/** Retry-After of a refusal for too many open connections from one address. */
const CONNECTIONS_RETRY_S = 5;

const MESSAGES: Readonly<Record<Exclude<RefusalCause, "server_drain">, string>> = {
  event_loop_overload: "Server overloaded: try again after Retry-After seconds (another node may take the connection now)",
  handshake_rate: "Too many new connections on this server: try again after Retry-After seconds",
  address_handshake_rate: "Too many new connections from this address: try again after Retry-After seconds",
  address_connections: "Too many open connections from this address: close one, or try again later",
};

function refusal(cause: Exclude<RefusalCause, "server_drain">, status: Refusal["status"], retryAfterS: number): Refusal {
  return { cause, status, retryAfterS, message: MESSAGES[cause] };
}

const toSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

export class ServerPolicy implements Admission {
  readonly limits: ResolvedLimits;
  /** Per-address state; null when no per-address limit is set. */
  readonly addresses: AddressTable | null;
  readonly #monitor: LoopMonitor | null;
  readonly #handshakes: TokenBucket | null;
  #sweeper: NodeJS.Timeout | null = null;

  constructor(limits: ResolvedLimits) {
    this.limits = limits;
    const now = performance.now();
    this.addresses = limits.perAddress ? new AddressTable(limits.maxAddresses) : null;
    this.#monitor = limits.maxEventLoopDelayMs > 0 ? new LoopMonitor(limits.maxEventLoopDelayMs, limits.sheddingHoldMs) : null;
    this.#handshakes = limits.handshakes !== null ? new TokenBucket(limits.handshakes, now) : null;
  }

  /** Starts the timers (the loop sampler, the address sweep): once attached. */
  start(): void {
    this.#monitor?.start();
    if (this.addresses !== null && this.#sweeper === null) {
      this.#sweeper = setInterval(() => this.sweep(), SWEEP_MS);
      this.#sweeper.unref();
    }
  }

  stop(): void {
    this.#monitor?.stop();
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }

  /** Drops idle per-address entries that hold nothing any more. */
  sweep(): void {
    this.addresses?.sweep(performance.now(), this.limits.handshakesPerAddress, this.limits.eventsPerAddress);
  }

  /** Whether new handshakes are shed now (event loop overloaded). */
  get shedding(): boolean {
    return this.#monitor !== null && this.#monitor.shedding;
  }

  /** The key the per-address limits count `req` under. */
  addressOf(req: IncomingMessage): string {
    return clientAddress(req, this.limits);
  }

  /** The per-address state of an open session's client (null without per-address limits). */
  stateOf(req: IncomingMessage): AddressState | null {
    return this.addresses === null ? null : this.addresses.get(this.addressOf(req));
  }

  // ---- Admission ----------------------------------------------------------

  admit(req: IncomingMessage): Refusal | null {
    const limits = this.limits;
    const now = performance.now();
    const monitor = this.#monitor;
    if (monitor !== null && monitor.overloaded(now)) return this.#refused(req, refusal("event_loop_overload", SERVICE_UNAVAILABLE, monitor.retryAfterS));
    if (this.addresses !== null) {
      const state = this.addresses.get(this.addressOf(req));
      if (limits.connectionsPerAddress > 0 && state.connections >= limits.connectionsPerAddress) {
        return this.#refused(req, refusal("address_connections", TOO_MANY_REQUESTS, CONNECTIONS_RETRY_S));
      }
      const perAddress = limits.handshakesPerAddress;
      if (perAddress !== null) {
        const bucket = (state.handshakes ??= new TokenBucket(perAddress, now));
        const wait = bucket.take(perAddress, now, 1, false);
        if (wait > 0) return this.#refused(req, refusal("address_handshake_rate", TOO_MANY_REQUESTS, toSeconds(wait)));
      }
    }
    if (this.#handshakes !== null) {
      const wait = this.#handshakes.take(limits.handshakes!, now, 1, false);
      if (wait > 0) return this.#refused(req, refusal("handshake_rate", SERVICE_UNAVAILABLE, toSeconds(wait)));
    }
    return null;
  }

  onOpen(session: EngineSocket): void {
    if (this.addresses !== null) this.addresses.open(this.addressOf(session.request));
  }

  onClose(session: EngineSocket): void {
    if (this.addresses !== null) this.addresses.close(this.addressOf(session.request));
  }

  #refused(req: IncomingMessage, answer: Refusal): Refusal {
    if (log.enabled) log("refusing handshake from %s: %s", req.socket?.remoteAddress, answer.cause);
    return answer;
  }
}
