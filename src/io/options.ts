import { invalidOption } from "../core/errors.js";
import type { AttachOptions, EngineOptions } from "../engine/options.js";
import { Adapter } from "../adapter/adapter.js";
import { SessionAwareAdapter } from "../adapter/session-aware-adapter.js";
import type { LimitsOptions } from "./policy/options.js";
import type { EventSchemas } from "./policy/events.js";

/** Connection-state recovery, as socket.io 4.8 defines it. */
export interface ConnectionStateRecoveryOptions {
  /** How long a disconnected session is kept, in milliseconds. @default 120000 */
  maxDisconnectionDuration?: number;
  /** Skip the connection middlewares when a session is recovered. @default true */
  skipMiddlewares?: boolean;
}

/** A class or factory creating the adapter of a namespace. */
export type AdapterConstructor = typeof Adapter | ((nsp: any) => Adapter);

/** Socket.IO server options. Every Engine.IO option is accepted too and passed through. */
export interface ServerOptions extends EngineOptions, AttachOptions {
  /** Where the server is served, and the prefix of the client bundle URLs. @default "/socket.io" */
  path?: string;
  /** Serve the official client bundle under `<path>/socket.io.js` and friends. @default true */
  serveClient?: boolean;
  /** The adapter class or factory. @default the in-memory Adapter */
  adapter?: AdapterConstructor;
  /** The packet codec: a module with Encoder and Decoder classes (socket.io-parser compatible). @default tidewire's parser */
  parser?: any;
  /**
   * Milliseconds a connection may stay without joining any namespace; more
   * than 2^31-1 is kept as given, `Infinity` never closes it.
   * @default 45000
   */
  connectTimeout?: number;
  /** Connection-state recovery. @default off */
  connectionStateRecovery?: ConnectionStateRecoveryOptions;
  /** Remove a dynamic child namespace when its last socket leaves. @default false */
  cleanupEmptyChildNamespaces?: boolean;
  /**
   * Rate limits on incoming events and bytes, admission control of new
   * handshakes, load shedding (tidewire's own; see LimitsOptions). Every
   * limit is off unless given.
   * @default {} (no limit)
   */
  limits?: LimitsOptions;
  /**
   * Schemas of incoming events for every namespace, from `defineEvents({...})`
   * (tidewire's own). A namespace's own `events()` declarations take
   * precedence, event by event.
   * @default none (events are not validated)
   */
  events?: EventSchemas<any, any>;
}

const ADAPTER_EXPECTED = "an adapter class or a factory (nsp) => adapter";

/**
 * `adapter`: a class or a factory function. A common slip, an adapter
 * instance or module object, gets a hint here; what a factory returns is
 * checked by the namespace that calls it.
 */
export function checkAdapter(v: unknown): AdapterConstructor | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "function") return v as AdapterConstructor;
  const hint =
    typeof v === "object"
      ? "Pass what createAdapter(...) returns (from tidewire/redis or an adapter package), not an adapter instance or the module itself."
      : undefined;
  throw invalidOption("adapter", ADAPTER_EXPECTED, v, hint);
}

/**
 * The adapter constructor of a new server. With `connectionStateRecovery`
 * its defaults are applied to `opts` in place (as socket.io does), checked,
 * and the default adapter is the session-aware one. @internal
 */
export function resolveAdapter(opts: ServerOptions): AdapterConstructor {
  if (!opts.connectionStateRecovery) return checkAdapter(opts.adapter) ?? Adapter;
  const recovery = { maxDisconnectionDuration: 120000, skipMiddlewares: true, ...opts.connectionStateRecovery };
  validateRecovery(recovery);
  opts.connectionStateRecovery = recovery;
  return (
    checkAdapter(opts.adapter) ??
    ((nsp: any) => new SessionAwareAdapter(nsp, { maxDisconnectionDuration: recovery.maxDisconnectionDuration }))
  );
}

function validateRecovery(recovery: { maxDisconnectionDuration: number; skipMiddlewares: boolean }): void {
  if (typeof recovery.maxDisconnectionDuration !== "number" || !(recovery.maxDisconnectionDuration > 0)) {
    throw invalidOption(
      "connectionStateRecovery.maxDisconnectionDuration",
      "a positive number of milliseconds",
      recovery.maxDisconnectionDuration,
    );
  }
}

/** The `parser` option: a module with Encoder and Decoder classes (`fallback` when none is given). @internal */
export function resolveParser(opts: ServerOptions, fallback: unknown): any {
  const parser: any = opts.parser ?? fallback;
  if (!parser || typeof parser.Encoder !== "function" || typeof parser.Decoder !== "function") {
    throw invalidOption("parser", "a module with Encoder and Decoder classes (like socket.io-msgpack-parser)", opts.parser);
  }
  return parser;
}
