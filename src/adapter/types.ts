import type { FrameCache } from "../core/types.js";

export type Room = string;
export type SocketId = string;
/** Offset of a packet in a connection-state-recovery log. */
export type PrivateSessionId = string;

/** Flags that modify a broadcast, as socket.io-adapter defines them. */
export interface BroadcastFlags {
  volatile?: boolean;
  compress?: boolean;
  local?: boolean;
  broadcast?: boolean;
  binary?: boolean;
  timeout?: number;
  /** @internal tidewire: expect one ack per recipient (set by broadcastWithAck). */
  expectSingleResponse?: boolean;
}

export interface BroadcastOptions {
  rooms: Set<Room>;
  except?: Set<Room>;
  flags?: BroadcastFlags;
}

/** A Socket.IO packet as adapters see it. */
export interface AdapterPacket {
  type: number;
  nsp?: string;
  data?: any;
  id?: number;
  [key: string]: any;
}

/** What the write path accepts, as socket.io's `client.writeToEngine` does. */
export interface WriteOptions {
  volatile?: boolean;
  compress?: boolean;
  preEncoded?: boolean;
  wsPreEncodedFrame?: Buffer[];
  /** One frame cache per encoded part, shared by every recipient of a broadcast. */
  caches?: FrameCache[];
}

/** The view of a connected socket an adapter needs. */
export interface AdapterSocket {
  readonly id: SocketId;
  /** The private session id, when connection state recovery is on. */
  readonly pid?: PrivateSessionId;
  readonly handshake: any;
  data: any;
  readonly acks: Map<number, (...args: any[]) => void>;
  readonly client: { writeToEngine(encoded: any[], opts: WriteOptions): void };
  notifyOutgoingListeners(packet: AdapterPacket): void;
  join(rooms: Room | Room[]): Promise<void> | void;
  leave(room: Room): Promise<void> | void;
  disconnect(close?: boolean): unknown;
}

/** The view of a namespace an adapter needs. */
export interface AdapterNamespace {
  readonly name: string;
  readonly sockets: Map<SocketId, AdapterSocket>;
  readonly server: { encoder: { encode(packet: any): any[] }; opts?: any; _opts?: any };
  _ids: number;
  _onServerSideEmit?(args: any[]): void;
}

/** A persisted session for connection-state recovery. */
export interface SessionToPersist {
  sid: SocketId;
  pid: PrivateSessionId;
  rooms: Room[];
  data: unknown;
}

export interface Session extends SessionToPersist {
  missedPackets: unknown[][];
}
