/**
 * `io.close()`: every socket disconnected ("server shutting down"), the
 * adapters and the engine closed, then the HTTP server closed or, on
 * request, only tidewire's listeners taken off it.
 */
import { logger } from "../core/debug.js";
import type { Server as EngineServer } from "../engine/index.js";
import type { HttpLikeServer } from "./attach.js";
import type { Namespace } from "./namespace.js";

const log = logger("io", "server");

/** Options of `io.close()`. */
export interface CloseOptions {
  /**
   * Close the HTTP server tidewire is attached to, as socket.io does. With
   * `false` it keeps serving the application; only tidewire's listeners are
   * taken off it.
   * @default true
   */
  closeHttpServer?: boolean;
}

/** What of the server `close()` takes down (read as it goes, as `io.close()` always did). @internal */
export interface ClosingServer {
  readonly _nsps: Map<string, Namespace<any, any, any, any>>;
  readonly engine?: EngineServer;
  readonly httpServer?: HttpLikeServer;
}

/**
 * Closes `server`; `fn` receives the HTTP server's close error, if any; the
 * Promise always resolves. `detachBundle` takes the client bundle's route
 * off the HTTP server. @internal
 */
export function closeServer(
  server: ClosingServer,
  opts: CloseOptions,
  fn: ((err?: Error) => void) | undefined,
  detachBundle: () => void,
): Promise<void> {
  for (const nsp of server._nsps.values()) {
    for (const socket of [...nsp.sockets.values()]) socket.onClose("server shutting down");
    Promise.resolve(nsp.adapter.close()).catch((err) => log("adapter close failed: %O", err));
  }
  server.engine?.close();
  if (opts.closeHttpServer === false) {
    // In reverse order of attaching: the bundle route wraps the engine's.
    detachBundle();
    server.engine?.detach();
    fn?.();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    if (server.httpServer) {
      server.httpServer.close((err?: Error) => {
        fn?.(err);
        resolve();
      });
    } else {
      fn?.();
      resolve();
    }
  });
}
