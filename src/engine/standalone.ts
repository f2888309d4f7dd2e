/**
 * engine.io's module-level helpers: `attach(server, opts)` and
 * `listen(port, opts, cb)`.
 */
import * as http from "node:http";
import { assertHttpServer, type HttpLikeServer } from "./http-attach.js";
import type { ServerOptions } from "./options.js";
import { Server } from "./server.js";

/** Creates an engine and attaches it to `server`. */
export function attach(server: HttpLikeServer, opts: ServerOptions = {}): Server {
  assertHttpServer(server);
  return new Server(opts).attach(server, opts);
}

/**
 * Creates an http server answering 501 to everything but the engine's path,
 * attaches an engine and listens on `port`.
 */
export function listen(port: number, opts?: ServerOptions | (() => void), cb?: () => void): Server {
  if (typeof opts === "function") {
    cb = opts;
    opts = {};
  }
  const server = http.createServer((_req, res) => {
    res.writeHead(501);
    res.end("Not Implemented");
  });
  const engine = attach(server, opts ?? {});
  engine.httpServer = server;
  server.listen(port, cb);
  return engine;
}
