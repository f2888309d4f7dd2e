/**
 * What the bus delivers to a node: another node's operation (broadcast,
 * rooms, disconnects, requests to answer, heartbeats), checked and acted on
 * here, and the answers to this node's own requests. The adapter hands over
 * a LocalNode: the operations run on this node only, and its replies.
 */
import { logger } from "../../core/debug.js";
import type { AdapterPacket, BroadcastOptions, Room, SocketId } from "../types.js";
import type { Membership } from "./membership.js";
import {
  MessageType,
  isBroadcastablePacket,
  isObject,
  isRoomList,
  isServerSideEvent,
  isSocketDetails,
  runListener,
  toBroadcastOptions,
  type ClusterMessage,
  type SocketDetails,
} from "./messages.js";
import type { AckRequests, RequestTable } from "./requests.js";

// Same namespace as the adapter's: these messages were always logged under it.
const log = logger("adapter", "bus");

/** This node, as the messages from the bus see it (built once by the adapter). */
export interface LocalNode {
  readonly uid: string;
  /** Set when the transport cannot count nodes. */
  readonly membership: Membership | null;
  readonly requests: RequestTable;
  readonly acks: AckRequests;
  /** Delivers a broadcast from the bus to this node's sockets (BusAdapter#deliver). */
  deliver(packet: AdapterPacket & { data: unknown[] }, opts: BroadcastOptions, offset: string | undefined): void;
  /** This node's part of an operation (never published again). */
  broadcastWithAck(
    packet: AdapterPacket,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: any[]) => void,
  ): void;
  addSockets(opts: BroadcastOptions, rooms: Room[]): void;
  delSockets(opts: BroadcastOptions, rooms: Room[]): void;
  disconnectSockets(opts: BroadcastOptions, close: boolean): void;
  /** The details of this node's sockets matched by `opts`. */
  describeSockets(opts: BroadcastOptions): SocketDetails[];
  /** Ids of this node's sockets in any of `rooms` (all when empty). */
  socketIds(rooms: Room[]): SocketId[];
  /** The rooms that exist on this node. */
  roomNames(): Room[];
  /** Runs the namespace's serverSideEmit listeners. */
  serverSideEmit(args: unknown[]): void;
  publish(message: Omit<ClusterMessage, "uid" | "nsp">): void;
  publishResponse(requesterUid: string, response: Omit<ClusterMessage, "uid" | "nsp">): void;
}

/** Acts on a message from the bus. Returns false when it was malformed or unknown. */
export function dispatchMessage(node: LocalNode, message: ClusterMessage, offset: string | undefined): boolean {
  const data = message.data;
  const requestId = isObject(data) ? data.requestId : undefined;
  switch (message.type) {
    case MessageType.BROADCAST: {
      const opts = isObject(data) ? toBroadcastOptions(data.opts) : null;
      if (!opts || !isBroadcastablePacket(data.packet)) return false;
      if (requestId === undefined) {
        node.deliver(data.packet, opts, offset);
        return true;
      }
      if (typeof requestId !== "string") return false;
      node.broadcastWithAck(
        data.packet,
        opts,
        (clientCount) => node.publishResponse(message.uid, { type: MessageType.BROADCAST_CLIENT_COUNT, data: { requestId, clientCount } }),
        (arg) => node.publishResponse(message.uid, { type: MessageType.BROADCAST_ACK, data: { requestId, packet: arg } }),
      );
      return true;
    }
    case MessageType.SOCKETS_JOIN:
    case MessageType.SOCKETS_LEAVE: {
      const opts = isObject(data) ? toBroadcastOptions(data.opts) : null;
      if (!opts || !isRoomList(data.rooms)) return false;
      if (message.type === MessageType.SOCKETS_JOIN) node.addSockets(opts, data.rooms);
      else node.delSockets(opts, data.rooms);
      return true;
    }
    case MessageType.DISCONNECT_SOCKETS: {
      const opts = isObject(data) ? toBroadcastOptions(data.opts) : null;
      if (!opts) return false;
      node.disconnectSockets(opts, data.close === true);
      return true;
    }
    case MessageType.FETCH_SOCKETS: {
      const opts = isObject(data) ? toBroadcastOptions(data.opts) : null;
      if (!opts || typeof requestId !== "string") return false;
      const sockets = node.describeSockets(opts);
      node.publishResponse(message.uid, { type: MessageType.FETCH_SOCKETS_RESPONSE, data: { requestId, sockets } });
      return true;
    }
    case MessageType.SERVER_SIDE_EMIT: {
      if (!isObject(data) || !isServerSideEvent(data.packet)) return false;
      const args: unknown[] = [...data.packet];
      if (requestId !== undefined) {
        let called = false;
        args.push((arg: unknown) => {
          if (called) return;
          called = true;
          node.publishResponse(message.uid, { type: MessageType.SERVER_SIDE_EMIT_RESPONSE, data: { requestId, packet: arg } });
        });
      }
      runListener(() => node.serverSideEmit(args));
      return true;
    }
    case MessageType.ALL_ROOMS:
      if (typeof requestId !== "string") return false;
      node.publishResponse(message.uid, { type: MessageType.ALL_ROOMS_RESPONSE, data: { requestId, rooms: node.roomNames() } });
      return true;
    case MessageType.SOCKETS: {
      const rooms = isObject(data) ? (data.rooms ?? []) : null;
      if (typeof requestId !== "string" || !isRoomList(rooms)) return false;
      const sockets = node.socketIds(rooms);
      node.publishResponse(message.uid, { type: MessageType.SOCKETS_RESPONSE, data: { requestId, sockets } });
      return true;
    }
    case MessageType.INITIAL_HEARTBEAT:
      if (node.membership) node.publish({ type: MessageType.HEARTBEAT });
      return true;
    case MessageType.HEARTBEAT:
      return true;
    case MessageType.ADAPTER_CLOSE:
      node.membership?.remove(message.uid);
      return true;
    case MessageType.FETCH_SOCKETS_RESPONSE:
    case MessageType.SERVER_SIDE_EMIT_RESPONSE:
    case MessageType.BROADCAST_CLIENT_COUNT:
    case MessageType.BROADCAST_ACK:
    case MessageType.ALL_ROOMS_RESPONSE:
    case MessageType.SOCKETS_RESPONSE:
      // Transports that do not tell messages from responses apart.
      receiveResponse(node, message);
      return true;
  }
  return false;
}

/** Counts an answer to one of this node's requests, or an ack of one of its broadcasts. */
export function receiveResponse(node: LocalNode, response: unknown): void {
  if (!isObject(response) || !isObject(response.data) || typeof response.data.requestId !== "string") {
    return log("[%s] ignoring malformed response", node.uid);
  }
  const { requestId } = response.data;
  const from = typeof response.uid === "string" ? response.uid : undefined;
  if (from !== undefined && from !== node.uid) node.membership?.seen(from);
  switch (response.type) {
    case MessageType.BROADCAST_CLIENT_COUNT:
      return node.acks.clientCount(requestId, response.data.clientCount);
    case MessageType.BROADCAST_ACK:
      return node.acks.ack(requestId, response.data.packet);
    case MessageType.FETCH_SOCKETS_RESPONSE:
      if (Array.isArray(response.data.sockets)) answer(node, requestId, MessageType.FETCH_SOCKETS, response.data.sockets.filter(isSocketDetails), from);
      return;
    case MessageType.SERVER_SIDE_EMIT_RESPONSE:
      return answer(node, requestId, MessageType.SERVER_SIDE_EMIT, response.data.packet, from);
    case MessageType.ALL_ROOMS_RESPONSE:
      if (isRoomList(response.data.rooms)) answer(node, requestId, MessageType.ALL_ROOMS, response.data.rooms, from);
      return;
    case MessageType.SOCKETS_RESPONSE:
      if (Array.isArray(response.data.sockets)) {
        answer(node, requestId, MessageType.SOCKETS, response.data.sockets.filter((s: unknown) => typeof s === "string"), from);
      }
      return;
  }
  log("[%s] ignoring malformed response of type %s", node.uid, response.type);
}

/** Counts an answer only for a request of the matching type (answers to other nodes' requests share channels). */
function answer(node: LocalNode, requestId: string, type: number, value: unknown, from: string | undefined): void {
  if (node.requests.typeOf(requestId) === type) node.requests.answer(requestId, value, from);
}
