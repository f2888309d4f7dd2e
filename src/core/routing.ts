/**
 * Session routing: the seam between the engine and a cluster adapter that
 * can hand a request for another node's session to that node ("session
 * forwarding"), so that long-polling works behind a load balancer without
 * sticky sessions.
 *
 * The owner of a session is written in its id: a default session id is 14
 * random base64url characters (84 bits) followed by the 6-character tag of
 * the node that opened it, 20 characters in all as before. A node that
 * receives a request for an id it does not hold asks its router, which hands
 * the request to the node with that tag, or declines (the engine then
 * answers "Session ID unknown", as without a router).
 *
 * The engine only knows these interfaces; the router comes from the adapter
 * of the main namespace (see SESSION_ROUTER) and is handed to the engine by
 * the Socket.IO server.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/** Length of the session ids that carry a node tag. */
export const TAGGED_ID_LENGTH = 20;
/** Length of a node tag (base64url characters, 36 random bits). */
export const TAG_LENGTH = 6;

/** The node tag at the end of a tagged session id, or null for ids of another shape. */
export function tagOf(sid: string): string | null {
  return sid.length === TAGGED_ID_LENGTH ? sid.slice(TAGGED_ID_LENGTH - TAG_LENGTH) : null;
}

/** Whether `tag` has the shape of a node tag. */
export function isTag(tag: unknown): tag is string {
  return typeof tag === "string" && /^[A-Za-z0-9_-]{6}$/.test(tag);
}

/** What a request refused by the router reports in the engine's `connection_error` event. */
export interface RoutingFailure {
  sid: string;
  name: "FORWARDING_FAILED";
  /** What went wrong: "owner gone", "timeout", "limit", "handover failed"... */
  reason: string;
  /** What the server's owner can do about it. Never sent to the client. */
  hint: string;
  [key: string]: unknown;
}

/** What a router may use of the engine it serves. */
export interface RoutingHost {
  readonly opts: {
    readonly maxHttpBufferSize: number;
    readonly maxBufferedBytes: number;
    readonly pingInterval: number;
    readonly pingTimeout: number;
  };
  /** The http server the engine is attached to, if any: connections handed over by other nodes join it. */
  readonly httpServer: unknown;
  /** Handles a request another node passed on, as if it had arrived here. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  /** Handles an upgrade another node passed on, as if it had arrived here. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Answers a request the router took but could not deliver, as for an unknown session. */
  refuseRequest(req: IncomingMessage, res: ServerResponse, failure: RoutingFailure): void;
  /** Answers an upgrade the router took but could not deliver, as for an unknown session. */
  refuseUpgrade(req: IncomingMessage, socket: Duplex, failure: RoutingFailure): void;
}

export interface SessionRouter {
  /** This node's tag: default session ids opened here end with it. */
  readonly tag: string;
  /** The engine that serves requests handed to this node (one at a time; the last bound wins). */
  bind(host: RoutingHost): void;
  unbind(host: RoutingHost): void;
  /**
   * A request for session `sid`, which this node does not hold. Returns true
   * when the router took it (it then answers `res`, or hands the connection
   * over), false to let the engine refuse it.
   */
  forwardRequest(sid: string, req: IncomingMessage, res: ServerResponse): boolean;
  /** The same for an upgrade request. */
  forwardUpgrade(sid: string, req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
}

/**
 * The property under which an adapter offers a router (the adapter of the
 * main namespace is asked). A registered symbol: the entry points are
 * bundled separately, so a module-local one would not be shared.
 */
export const SESSION_ROUTER: unique symbol = Symbol.for("tidewire.sessionRouter");

/** The router an adapter offers, if any. */
export function sessionRouterOf(adapter: unknown): SessionRouter | null {
  if (adapter === null || typeof adapter !== "object") return null;
  const router = (adapter as { [SESSION_ROUTER]?: unknown })[SESSION_ROUTER];
  return router !== null && typeof router === "object" ? (router as SessionRouter) : null;
}
