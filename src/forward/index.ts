/** Session forwarding: see router.ts, origin.ts, owner.ts and handoff.ts. */
export { ForwardingRouter } from "./router.js";
export { resolveForwardingOptions, type ForwardingOptions, type ResolvedForwardingOptions } from "./options.js";
export type { LinkReceiver, NodeLink } from "./link.js";
