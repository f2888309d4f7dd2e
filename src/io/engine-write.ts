/**
 * The io layer's write path to an Engine.IO session: encoded parts (a
 * packet's header and its binary attachments, or one string) become engine
 * messages. Used for direct emits and for every recipient of a broadcast,
 * so nothing here allocates per recipient when a broadcast's send options
 * can be shared.
 */
import type { Socket as EngineSocket } from "../engine/index.js";
import type { WriteOptions } from "../adapter/types.js";

/**
 * Writes `encoded` to `conn`. A volatile packet is dropped whole when the
 * transport cannot take it now, never in part: the engine drops single
 * messages itself; a header and its attachments are judged here, together,
 * by the same rule.
 */
export function writeEncoded(conn: EngineSocket, encoded: any[], opts: WriteOptions): void {
  if (opts.volatile && (!conn.transport.writable || (encoded.length > 1 && dropsVolatile(conn)))) return;
  const caches = opts.caches;
  const compress = opts.compress !== false;
  if (encoded.length === 1) {
    const cache = caches?.[0];
    // A broadcast: every recipient gets the same send options, made once.
    let send = cache?.sendFor === opts ? cache.send : undefined;
    if (send === undefined) {
      send = {
        compress,
        volatile: opts.volatile,
        cache,
        wsPreEncodedFrame: opts.wsPreEncodedFrame,
      };
      if (cache !== undefined) {
        cache.send = send;
        cache.sendFor = opts;
      }
    }
    conn.write(encoded[0], send);
    return;
  }
  for (let i = 0; i < encoded.length; i++) {
    conn.write(encoded[i], { compress, cache: caches?.[i] });
  }
}

/** The engine's own rule for volatile packets (an engine bound with `io.bind()` may have none). */
function dropsVolatile(conn: EngineSocket): boolean {
  const c = conn as Partial<Pick<EngineSocket, "dropsVolatile">>;
  return typeof c.dropsVolatile === "function" && c.dropsVolatile();
}
