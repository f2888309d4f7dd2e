/**
 * An http server on 127.0.0.1:0 with tidewire's own Server attached, for
 * tests of features socket.io does not have (operations, policy): unlike
 * `createIoServer`, never the reference implementation. Closed by
 * `closeAll()`.
 */
import { createServer, type RequestListener, type Server as HttpServer } from "node:http";
import { Server, type ServerOptions } from "../../src/index.js";
import { closeHttpServer, listen, onClose, withTimeout } from "./io.js";

export interface TidewireHandle {
  // Tests reach members the public types do not list (counters, internals under test).
  io: Server & Record<string, any>;
  httpServer: HttpServer;
  port: number;
  url: string;
}

/** `app` answers the requests tidewire does not take (404 when omitted, as Node's default is to hang). */
export async function startTidewire(opts: Partial<ServerOptions> | Record<string, unknown> = {}, app?: RequestListener): Promise<TidewireHandle> {
  const httpServer = createServer(app);
  const io = new Server(httpServer, opts as Partial<ServerOptions>);
  onClose(async () => {
    await withTimeout(io.close(), 3000, "io.close()").catch(() => undefined);
    await closeHttpServer(httpServer);
  });
  const port = await listen(httpServer);
  return { io: io as TidewireHandle["io"], httpServer, port, url: `http://127.0.0.1:${port}` };
}

/** A connected node-redis publisher and its duplicate subscriber, both quit by `closeAll()`. */
export async function redisPair(url: string): Promise<{ pub: any; sub: any }> {
  const { createClient } = await import("redis");
  const pub = createClient({ url });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  onClose(async () => {
    await pub.quit().catch(() => undefined);
    await sub.quit().catch(() => undefined);
  });
  return { pub, sub };
}
