/**
 * Types shared by the layers. core imports nothing; engine, adapter and io
 * all import from here.
 */

/** One Engine.IO message as the socket layer hands it down: text or bytes. */
export type RawData = string | Buffer;

/**
 * A per-broadcast cache that the engine fills on first use and every other
 * recipient of the same broadcast reuses. Invariant: the object is created
 * once per encoded message and never shared between different messages.
 */
export interface FrameCache {
  /** The complete WebSocket frame (header + payload) for an EIO4 text/binary message. */
  ws?: Buffer;
  /** The EIO4 polling encoding of the message (`4...` or `b<base64>`). */
  polling?: string;
  /**
   * The send options of every recipient, and the write options they were
   * made from (io/connection.ts): one object per broadcast, not per recipient.
   * @internal
   */
  send?: SendOptions;
  /** @internal */
  sendFor?: object;
  /**
   * The queued packet every recipient's session shares (engine/session.ts),
   * while nothing may see or change a recipient's own copy. @internal
   */
  packet?: object;
}

/** Options for one outgoing Engine.IO message. */
export interface SendOptions {
  /** Allow compression (permessage-deflate or HTTP gzip). @default true */
  compress?: boolean;
  /**
   * Drop the message instead of queueing it when the connection is busy:
   * the transport cannot take it now, or something already waits for the
   * client (an earlier packet of this event-loop turn included).
   * @default false
   */
  volatile?: boolean;
  /** Shared by all recipients of one broadcast so frames are built once. */
  cache?: FrameCache;
  /**
   * Pre-built WebSocket frame, as socket.io-adapter passes it (an array of
   * buffers from ws's Sender.frame). Used when compression is off.
   */
  wsPreEncodedFrame?: Buffer[];
}
