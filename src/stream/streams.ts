/**
 * `streams(socket)`: the one StreamChannel of a socket. The channel listens
 * to the socket's control events, so a socket gets exactly one; calling
 * `streams()` again returns it.
 */
import { StreamChannel } from "./channel.js";
import { resolveStreamOptions, type StreamOptions } from "./options.js";
import type { SocketLike } from "./protocol.js";

const channels = new WeakMap<SocketLike, StreamChannel>();

/**
 * The stream channel of `socket` (a tidewire/socket.io server Socket or a
 * socket.io-client Socket), created on first use with `options`.
 *
 * @throws TypeError when `socket` lacks `emit`/`on`, when an option is
 * invalid, or when options are given for a socket whose channel already
 * exists (its options are fixed at creation).
 */
export function streams(socket: SocketLike, options?: StreamOptions): StreamChannel {
  if (
    socket === null ||
    typeof socket !== "object" ||
    typeof socket.emit !== "function" ||
    typeof socket.on !== "function"
  ) {
    throw new TypeError("streams(socket): socket must be a Socket.IO socket (an object with emit() and on()).");
  }
  const existing = channels.get(socket);
  if (existing !== undefined) {
    if (options !== undefined) {
      throw new TypeError(
        "streams(socket, options): this socket's stream channel already exists; pass options on the first call only (or close() the channel first).",
      );
    }
    return existing;
  }
  const channel = new StreamChannel(socket, resolveStreamOptions(options), () => {
    if (channels.get(socket) === channel) channels.delete(socket);
  });
  channels.set(socket, channel);
  return channel;
}
