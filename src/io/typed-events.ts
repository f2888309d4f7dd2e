/**
 * Event-map typing for Server, Namespace, Socket and broadcasts, with the
 * same generic parameters and helper names as socket.io 4.8 so that typed
 * applications compile unchanged.
 */
import { EventEmitter } from "node:events";
import { useLightListenerStore } from "../core/listener-store.js";

/** A map of event names to listener signatures. */
export interface EventsMap {
  [event: string]: any;
}

/** The default map: any event name, any arguments. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}

export type EventNames<Map extends EventsMap> = keyof Map & (string | symbol);

export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>;

type IsAny<T> = 0 extends 1 & T ? true : false;
type Params<F> = F extends (...args: infer P) => any ? P : never;
/** "yes" when the listener's last parameter is a callback, "any" when untyped. */
type AckKind<F> = IsAny<F> extends true
  ? "any"
  : IsAny<Last<Params<F>>> extends true
    ? "any"
    : Params<F> extends [...any[], (...args: any[]) => any]
      ? "yes"
      : "no";

/** Event names whose last argument is an acknowledgement callback. */
export type EventNamesWithAck<Map extends EventsMap, K extends EventNames<Map> = EventNames<Map>> = K extends any
  ? AckKind<Map[K]> extends "no"
    ? never
    : K
  : never;

/** Event names that take no acknowledgement callback. */
export type EventNamesWithoutAck<Map extends EventsMap, K extends EventNames<Map> = EventNames<Map>> = K extends any
  ? AckKind<Map[K]> extends "yes"
    ? never
    : K
  : never;

/** Event names whose acknowledgement receives an Error first. */
export type EventNamesWithError<Map extends EventsMap, K extends EventNamesWithAck<Map> = EventNamesWithAck<Map>> = K extends any
  ? AckKind<Map[K]> extends "any"
    ? K
    : Params<Last<Params<Map[K]>>>[0] extends Error
      ? K
      : never
  : never;

export type Last<T extends any[]> = T extends [...infer _H, infer L] ? L : any;
export type AllButLast<T extends any[]> = T extends [...infer H, infer _L] ? H : any[];

export type FirstArg<T> = T extends (arg: infer Param) => any ? Param : any;
export type FirstNonErrorArg<T> = T extends (...args: infer Params) => any ? FirstNonErrorTuple<Params> : any;
type FirstNonErrorTuple<T extends any[]> = T[0] extends Error ? T[1] : T[0];

type PrependTimeoutError<T extends any[]> = {
  [K in keyof T]: T[K] extends (...args: infer Params) => infer Result
    ? Params[0] extends Error
      ? T[K]
      : (err: Error, ...args: Params) => Result
    : T[K];
};

/** Every element of a tuple as an array: [a: A, b: B] -> [a: A[], b: B[]]. */
export type MultiplyArray<T extends unknown[]> = { [K in keyof T]: T[K][] };

/** The first element of a tuple as a one-element tuple, keeping its label (for editor hints). */
type FirstOfTuple<T extends any[]> = T extends [any, ...infer Rest] ? (T extends [...infer First, ...Rest] ? First : never) : never;

/**
 * A broadcast acknowledgement receives one response per client: the first
 * argument after an optional leading Error becomes an array, later ones are
 * dropped (only the first argument of each client's ack is collected).
 */
type MultipleResponses<F> = F extends (...args: infer Params) => infer Result
  ? Params extends [Error]
    ? (err: Error) => Result
    : Params extends [Error, ...infer Rest]
      ? (err: Error, ...responses: FirstOfTuple<MultiplyArray<Rest>>) => Result
      : Params extends []
        ? () => Result
        : (...responses: FirstOfTuple<MultiplyArray<Params>>) => Result
  : F;

type ExpectMultipleResponses<T extends any[]> = { [K in keyof T]: MultipleResponses<T[K]> };

/** Listener signatures without their acknowledgement callback. */
export type RemoveAcknowledgements<E extends EventsMap> = {
  [K in EventNamesWithoutAck<E>]: E[K];
};

/** With `timeout()`, the acknowledgement receives an Error first. */
export type DecorateAcknowledgements<E> = {
  [K in keyof E]: E[K] extends (...args: infer Params) => infer Result
    ? (...args: PrependTimeoutError<Params>) => Result
    : E[K];
};

/** Broadcast acknowledgements receive one response per client. */
export type DecorateAcknowledgementsWithMultipleResponses<E> = {
  [K in keyof E]: E[K] extends (...args: infer Params) => infer Result
    ? (...args: ExpectMultipleResponses<Params>) => Result
    : E[K];
};

export type DecorateAcknowledgementsWithTimeoutAndMultipleResponses<E> = {
  [K in keyof E]: E[K] extends (...args: infer Params) => infer Result
    ? (...args: ExpectMultipleResponses<PrependTimeoutError<Params>>) => Result
    : E[K];
};

export type ReservedOrUserEventNames<ReservedEvents extends EventsMap, UserEvents extends EventsMap> =
  | EventNames<ReservedEvents>
  | EventNames<UserEvents>;

export type ReservedOrUserListener<
  ReservedEvents extends EventsMap,
  UserEvents extends EventsMap,
  Ev extends ReservedOrUserEventNames<ReservedEvents, UserEvents>,
> = FallbackToUntypedListener<
  Ev extends EventNames<ReservedEvents> ? ReservedEvents[Ev] : Ev extends EventNames<UserEvents> ? UserEvents[Ev] : never
>;

type FallbackToUntypedListener<T> = [T] extends [never] ? (...args: any[]) => void | Promise<void> : T;

/** A typed broadcaster: what `io.to(room)` and friends return. */
export interface TypedEventBroadcaster<EmitEvents extends EventsMap> {
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
}

/**
 * An EventEmitter whose `on`/`emit` are typed by three maps: events it
 * listens to, events it emits, and reserved events it emits to itself.
 */
export abstract class StrictEventEmitter<
  ListenEvents extends EventsMap,
  EmitEvents extends EventsMap,
  ReservedEvents extends EventsMap = {},
> extends EventEmitter {
  constructor() {
    super();
    // Sockets are per connection: a fast-mode listener store (see core).
    useLightListenerStore(this);
  }

  override on<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    return super.on(ev, listener as (...args: any[]) => void);
  }

  override once<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    return super.once(ev, listener as (...args: any[]) => void);
  }

  // @ts-ignore -- the typed signature narrows EventEmitter's
  override emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    return super.emit(ev, ...args);
  }

  /** Emit a reserved event to this emitter's own listeners. */
  protected emitReserved<Ev extends EventNames<ReservedEvents>>(ev: Ev, ...args: EventParams<ReservedEvents, Ev>): boolean {
    return super.emit(ev, ...args);
  }

  /** Emit an event without type checks. */
  protected emitUntyped(ev: string, ...args: any[]): boolean {
    return super.emit(ev, ...args);
  }

  override listeners<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    event: Ev,
  ): ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>[] {
    return super.listeners(event) as ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>[];
  }
}
