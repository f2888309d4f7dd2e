import { EventEmitter } from "node:events";
import { runMiddlewares } from "./middleware.js";
import type { Packet } from "./protocol/packet.js";
import { ackResponder } from "./socket-emit.js";
import type { SocketHooks } from "./socket-hooks.js";
import type { Event, Socket } from "./socket.js";
import { facts, within, type Scope } from "../observe/facts.js";

/**
 * An incoming EVENT on its way to the application: catch-all listeners,
 * the socket's middlewares, then its listeners (with the ack function
 * appended when the client asked for one), inside the event's scope while
 * a sink follows events.
 */

type AnySocket = Socket<any, any, any, any>;

/**
 * An event while a sink follows events: the scope ends when the ack is
 * sent, or after dispatch. `run` hands `args` on (see runHooks).
 */
export function observeEvent(socket: AnySocket, packet: Packet, args: any[], run: () => void): void {
  const withAck = packet.id != null;
  const scope: Scope | undefined = facts.event({
    socket,
    namespace: socket.nsp.name,
    event: args[0],
    args: args.slice(1),
    ack: withAck,
  });
  if (withAck) args.push(ackResponder(socket, packet.id as number, scope));
  if (scope === undefined) return run();
  if (withAck) {
    if (scope.run) scope.run(run);
    else run();
    return;
  }
  within(scope, run);
}

/** The catch-all listeners, then the middlewares, then the listeners (if the socket is still connected). */
export function runHooks(socket: AnySocket, hooks: SocketHooks, args: any[]): void {
  const any = hooks.any;
  if (any && any.length) for (const listener of any.slice()) listener.apply(socket, args);
  const fns = hooks.fns;
  if (fns === undefined || fns.length === 0) {
    dispatchEvent(socket, args);
    return;
  }
  runMiddlewares(fns, args as Event, (err) => {
    if (err) return socket.onError(err);
    if (socket.connected) dispatchEvent(socket, args);
  });
}

/** Emits `[event, ...args]` to the socket's own listeners (as its `emitUntyped`). */
export function dispatchEvent(socket: AnySocket, args: any[]): void {
  // A client may name its event "error": with no listener, EventEmitter would throw.
  if (args[0] === "error" && socket.listenerCount("error") === 0) return;
  EventEmitter.prototype.emit.apply(socket, args as [string, ...any[]]);
}
