import { invalidOption } from "../core/errors.js";

/**
 * Session forwarding, on by default with every cluster adapter
 * (`forwarding: false` turns it off): a request or WebSocket upgrade for a
 * session another node holds is handed to that node instead of being
 * refused with "Session ID unknown".
 */
export interface ForwardingOptions {
  /**
   * Most forwarded requests and WebSocket tunnels a node has open at once,
   * counted separately for those it sent and those it serves for other
   * nodes. Past it a request is refused as for an unknown session (the
   * client reconnects).
   * @default 20000
   */
  maxPending?: number;
  /**
   * How long a forwarded request waits for the owner's answer, in ms. A
   * long-polling GET waits pingInterval + pingTimeout more (the owner holds
   * it until it has something to send). Past it the request is refused as
   * for an unknown session.
   * @default 10000
   */
  timeout?: number;
}

export interface ResolvedForwardingOptions {
  maxPending: number;
  timeout: number;
}

const DEFAULTS: ResolvedForwardingOptions = { maxPending: 20000, timeout: 10000 };

/** The `forwarding` option of a cluster adapter: null when off. Throws on a bad value. */
export function resolveForwardingOptions(value: unknown): ResolvedForwardingOptions | null {
  if (value === false) return null;
  if (value === undefined || value === true) return { ...DEFAULTS };
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidOption("forwarding", "true, false or an object such as { maxPending, timeout }", value);
  }
  const o = value as ForwardingOptions;
  const count = (name: keyof ForwardingOptions, v: unknown, def: number): number => {
    if (v === undefined) return def;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v >= 2 ** 31) {
      throw invalidOption(`forwarding.${name}`, "a positive integer", v);
    }
    return v;
  };
  return { maxPending: count("maxPending", o.maxPending, DEFAULTS.maxPending), timeout: count("timeout", o.timeout, DEFAULTS.timeout) };
}
