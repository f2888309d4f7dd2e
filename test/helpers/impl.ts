/**
 * The implementation under test. `TEST_AGAINST=socket.io` runs the suite
 * against the reference socket.io 4.8 server (to prove each expectation is
 * right); otherwise against tidewire's sources.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as SocketIO from "socket.io";

export const TEST_AGAINST: "socket.io" | "tidewire" =
  process.env.TEST_AGAINST === "socket.io" ? "socket.io" : "tidewire";
export const againstReference = TEST_AGAINST === "socket.io";

const require = createRequire(import.meta.url);

interface Implementation {
  Server: typeof SocketIO.Server;
  Namespace: typeof SocketIO.Namespace;
  Socket: typeof SocketIO.Socket;
  // socket.io declares these two as types only
  BroadcastOperator: new (...args: any[]) => SocketIO.BroadcastOperator<any, any>;
  RemoteSocket: new (...args: any[]) => SocketIO.RemoteSocket<any, any>;
  /** The in-memory adapter class (socket.io-adapter's `Adapter` for the reference). */
  Adapter: typeof import("socket.io-adapter").Adapter;
}

async function load(): Promise<Implementation> {
  if (againstReference) {
    const sio = require("socket.io");
    // socket.io's entry only exposes Server, Namespace and Socket as values;
    // the two other classes live in their own files of the same package.
    const dist = dirname(require.resolve("socket.io"));
    const { BroadcastOperator, RemoteSocket } = require(join(dist, "broadcast-operator.js"));
    const { Adapter } = require("socket.io-adapter");
    return { Server: sio.Server, Namespace: sio.Namespace, Socket: sio.Socket, BroadcastOperator, RemoteSocket, Adapter };
  }
  const mod: any = await import("../../src/index.js");
  return {
    Server: mod.Server,
    Namespace: mod.Namespace,
    Socket: mod.Socket,
    BroadcastOperator: mod.BroadcastOperator,
    RemoteSocket: mod.RemoteSocket,
    Adapter: mod.Adapter,
  };
}

const impl = await load();

export const Server = impl.Server;
export const Namespace = impl.Namespace;
export const Socket = impl.Socket;
export const BroadcastOperator = impl.BroadcastOperator;
export const RemoteSocket = impl.RemoteSocket;
export const Adapter = impl.Adapter;

export type Server = SocketIO.Server;
export type Namespace = SocketIO.Namespace;
export type Socket = SocketIO.Socket;
export type ServerOptions = SocketIO.ServerOptions;
