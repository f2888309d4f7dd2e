import * as http from "node:http";
import * as https from "node:https";
import type { Http2SecureServer, Http2Server } from "node:http2";
import { logger } from "../core/debug.js";
import { ErrorCodes } from "../core/errors.js";
import { corsMiddleware } from "../engine/cors.js";
import { Server as EngineServer } from "../engine/index.js";
import type { Middleware } from "../engine/middleware.js";
import { restoreListeners } from "../engine/http-attach.js";
import { bundleFileFor, serveBundleFile } from "./client-bundle.js";
import type { ServerOptions } from "./options.js";

/**
 * The HTTP side of `Server#attach`/`listen`: the server to attach to (given,
 * or created for a port) and the client bundle route placed in front of the
 * application's request listeners.
 */

// Same namespace as the Server's: these messages were always logged under it.
const log = logger("io", "server");

export type HttpLikeServer = http.Server | https.Server | Http2Server | Http2SecureServer;

/**
 * The server `attach(srv)` uses: `srv` itself, or for a port (a number or
 * a numeric string) a new http server listening on it that answers 404 to
 * requests not meant for tidewire.
 */
export function httpServerFor(srv: HttpLikeServer | number | string): HttpLikeServer {
  if (typeof srv === "function") {
    throw new TypeError(
      "You are trying to attach socket.io to an express request handler function. Please pass a http.Server instance.",
    );
  }
  if (typeof srv === "number" || (typeof srv === "string" && srv.trim() !== "" && Number(srv) === Number(srv))) {
    const port = Number(srv);
    log("creating http server and binding to port %d", port);
    const server = http.createServer((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    server.listen(port);
    return server;
  }
  assertHttpServer(srv);
  return srv;
}

/**
 * The Engine.IO server of `io.attach()`, attached to `server` with `opts`
 * (whose path is resolved), and when `serveClient` the client bundle route
 * in front of it, with the CORS headers of the polling requests (as
 * socket.io). `detachBundle` takes that route off again (null: none).
 */
export function attachEngine(
  server: HttpLikeServer,
  opts: ServerOptions & { path: string },
  serveClient: boolean,
): { engine: EngineServer; detachBundle: (() => void) | null } {
  const engine = new EngineServer(opts);
  engine.attach(server as http.Server, opts);
  const cors = engine.opts.cors ? corsMiddleware(engine.opts.cors) : null;
  return { engine, detachBundle: serveClient ? serveClientBundle(server, opts.path, cors) : null };
}

/**
 * Serves the client bundle under `path` before any other request listener
 * sees the request, behind `cors` when set. As in socket.io, the CORS
 * middleware answers a preflight itself, and the file is served even when
 * it ends with an error (an origin callback failing): only its headers are
 * missing then.
 */
export function serveClientBundle(srv: HttpLikeServer, path: string, cors: Middleware | null): () => void {
  const previous = srv.listeners("request").slice(0) as Array<(...args: any[]) => void>;
  const previousRaw = srv.rawListeners("request").slice(0);
  srv.removeAllListeners("request");
  const prefix = path + "/";
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const name = bundleFileFor(req.url, prefix);
    if (name) {
      if (cors === null) serveBundleFile(name, req, res);
      else cors(req, res, () => serveBundleFile(name, req, res));
      return;
    }
    for (const listener of previous) listener.call(srv, req, res);
  };
  srv.on("request", onRequest);
  return () => restoreListeners(srv as any, "request", onRequest, previousRaw);
}

function isHttp2Server(srv: any): boolean {
  for (let proto = Object.getPrototypeOf(srv); proto; proto = Object.getPrototypeOf(proto)) {
    const name = proto.constructor?.name;
    if (name === "Http2Server" || name === "Http2SecureServer") return true;
  }
  return false;
}

/** Throws a clear TypeError unless `srv` is an http, https or http2 server. */
function assertHttpServer(srv: unknown): asserts srv is HttpLikeServer {
  if (srv instanceof http.Server || srv instanceof https.Server || isHttp2Server(srv)) return;
  const what =
    srv === null || typeof srv !== "object" ? typeof srv : (Object.getPrototypeOf(srv)?.constructor?.name ?? "object");
  const err = new TypeError(
    `tidewire can only attach to an http.Server, https.Server or http2 server (got ${what}). ` +
      `Pass the server your framework created, e.g. http.createServer(app) for Express or hapiServer.listener for Hapi, or a port number.`,
  );
  (err as TypeError & { code: string }).code = ErrorCodes.NOT_AN_HTTP_SERVER;
  throw err;
}
