/**
 * `socket.on(event, schema, handler)`: the handler runs with the values the
 * schema output, then an acknowledgement function (the client's, or one
 * that does nothing when it asked for none), so that its parameters are
 * always in the same places. An invalid payload never reaches it (see
 * rejection.ts). `socket.off(event, handler)` removes it as usual: the
 * registered wrapper carries the handler as `listener`, as `once` wrappers do.
 *
 * Asynchronous schemas hold the socket's later events until they answer
 * (see inbound.ts), so handlers see events in the order they arrived.
 */
import { rethrowLater } from "../../core/rethrow.js";
import type { Socket } from "../socket.js";
import { compileArgs, isArgSchemas, type ArgSchemas } from "./events.js";
import { NOOP_ACK, reportRejected } from "./rejection.js";
import { validateArgs, type Outcome } from "./validate.js";

type Handler = (...args: any[]) => unknown;

/**
 * Whether `on(event, second, third)` is `on(event, schema, handler)`: a
 * second argument that is a schema (some, like arktype's, are functions), or
 * is not a function at all (then validatedListener explains what was
 * expected). A listener function followed by anything else stays
 * EventEmitter's `on`.
 */
export function withSchema(second: unknown): boolean {
  return typeof second !== "function" || isArgSchemas(second);
}

export function validatedListener(
  socket: Socket<any, any, any, any>,
  event: string,
  schema: ArgSchemas,
  handler: Handler,
): Handler & { listener: Handler } {
  if (typeof handler !== "function") {
    throw new TypeError(`socket.on("${event}", schema, handler): the handler must be a function, got ${typeof handler}`);
  }
  const schemas = compileArgs(`socket.on("${event}", schema, handler)`, schema);
  const finish = (outcome: Outcome, ack: Handler): void => {
    if (outcome.values !== undefined) {
      outcome.values.push(ack);
      handler.apply(socket, outcome.values);
      return;
    }
    const counters = socket.nsp.server.counters;
    reportRejected(socket, event, outcome, counters, (reply) => ack !== NOOP_ACK && ack(reply), schemas);
  };
  const wrapper = function validated(...args: unknown[]): void {
    const ack = typeof args[args.length - 1] === "function" ? (args.pop() as Handler) : NOOP_ACK;
    const outcome = validateArgs(schemas, args, 0);
    if (!(outcome instanceof Promise)) return finish(outcome, ack);
    const inbound = socket.client.inbound();
    inbound.hold(socket);
    outcome.then((answer) => {
      try {
        if (socket.connected) finish(answer, ack);
      } catch (err) {
        // The handler's exception is the application's: it reaches uncaughtException.
        rethrowLater(err);
      }
      inbound.release(socket);
    });
  } as Handler & { listener: Handler };
  wrapper.listener = handler;
  return wrapper;
}
