/** The cluster core shared by every bus adapter: see bus-adapter.ts and transport.ts. */
export { BusAdapter, type BusAdapterOptions, type TransportFactory } from "./bus-adapter.js";
export type { BusCodec, BusHost, BusTransport } from "./transport.js";
export { Membership, type MembershipOptions } from "./membership.js";
export { AckRequests, RequestTable, RequestTimeoutError, withDeadline } from "./requests.js";
export * from "./messages.js";
