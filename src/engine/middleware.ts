/**
 * Express-style middlewares run before request verification, for polling
 * requests and for upgrades (features.md A3.5). A middleware may be async;
 * a thrown error, a rejected promise or `next(err)` fails the request
 * (code 3, MIDDLEWARE_FAILURE). A middleware that answers the request itself
 * (a CORS preflight) simply does not call `next`.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** Runs `list` in order, then `done()` or `done(err)` exactly once. */
export function runMiddlewares(
  list: readonly Middleware[],
  req: IncomingMessage,
  res: ServerResponse,
  done: (err?: unknown) => void,
): void {
  let index = 0;
  const step = (): void => {
    if (index === list.length) return done();
    const middleware = list[index++];
    let settled = false;
    const next = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err) done(err);
      else step();
    };
    try {
      const result: unknown = middleware(req, res, next);
      if (result && typeof (result as Promise<unknown>).then === "function") {
        (result as Promise<unknown>).then(undefined, (err) => next(err ?? new Error("middleware rejected")));
      }
    } catch (err) {
      next(err ?? new Error("middleware threw"));
    }
  };
  step();
}

/**
 * The `res` that middlewares see on an upgrade request: headers they set are
 * added to the 101 response, `end()` refuses the upgrade by destroying the
 * connection.
 */
export class UpgradeResponse extends EventEmitter {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly headers: OutgoingHttpHeaders = Object.create(null);
  headersSent = false;
  writableEnded = false;
  statusCode = 101;

  constructor(req: IncomingMessage, socket: Duplex) {
    super();
    this.req = req;
    this.socket = socket;
    // Some middlewares (request loggers) wait for "close" to end their work.
    socket.once("close", () => this.emit("close"));
  }

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.headers[name.toLowerCase()] = value as OutgoingHttpHeaders[string];
    return this;
  }

  getHeader(name: string): OutgoingHttpHeaders[string] {
    return this.headers[name.toLowerCase()];
  }

  getHeaders(): OutgoingHttpHeaders {
    return { ...this.headers };
  }

  hasHeader(name: string): boolean {
    return this.headers[name.toLowerCase()] !== undefined;
  }

  removeHeader(name: string): void {
    delete this.headers[name.toLowerCase()];
  }

  writeHead(): this {
    return this;
  }

  write(): boolean {
    return true;
  }

  end(): this {
    if (this.writableEnded) return this;
    this.writableEnded = true;
    this.emit("finish");
    this.socket.destroy();
    return this;
  }
}
