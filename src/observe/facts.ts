/**
 * Facts: what the layers tell observers (diagnostics_channel publishers,
 * OpenTelemetry bridges, tests) about their traffic. One process-wide bus,
 * as diagnostics_channel and OpenTelemetry's global tracer are.
 *
 * Invariant: with no sink subscribed for a kind, its bit in `facts.mask` is
 * 0, and a publishing site that tests the bit first builds nothing, calls
 * nothing and allocates nothing.
 */
import type { IncomingMessage } from "node:http";
import type { DisconnectCause, TransportKind } from "./causes.js";

export const FACT_HANDSHAKE = 1;
export const FACT_CONNECTION = 2;
export const FACT_DISCONNECT = 4;
export const FACT_EVENT = 8;
export const FACT_BROADCAST = 16;
export const FACT_ADAPTER_REQUEST = 32;
export const FACT_INJECT = 64;
export const FACT_REMOTE = 128;

/**
 * Context fields that travel with a message to other nodes (W3C
 * `traceparent` / `tracestate`, or whatever the observer's propagator
 * writes): string keys to string values.
 */
export type Carrier = Record<string, string>;

/**
 * A unit of work a sink follows (a span): `end` is called exactly once, with
 * the error when it failed. When `run` is given, the work itself runs inside
 * it, so that a sink can make its context active (OpenTelemetry's
 * `context.with`) for whatever the work calls synchronously.
 */
export interface Scope {
  end(error?: unknown): void;
  run?<T>(fn: () => T): T;
}

/** A socket as facts show it (the live tidewire Socket). */
export interface FactSocket {
  readonly id: string;
  readonly nsp: { readonly name: string };
}

/** A handshake is being answered (the Engine.IO session does not exist yet). Ends when it opens or is refused. */
export interface HandshakeFact {
  readonly req: IncomingMessage;
  readonly transport: TransportKind;
}

/** A socket joined a namespace (after the middlewares accepted it). */
export interface ConnectionFact {
  readonly socket: FactSocket;
  readonly namespace: string;
  readonly transport: TransportKind;
  readonly recovered: boolean;
}

/** A socket left its namespace. */
export interface DisconnectFact {
  readonly socket: FactSocket;
  readonly namespace: string;
  /** socket.io's reason string. */
  readonly reason: string;
  readonly cause: DisconnectCause;
}

/** An event from a client is dispatched. With `ack`, the scope ends when the ack is sent; otherwise after dispatch. */
export interface EventFact {
  readonly socket: FactSocket;
  readonly namespace: string;
  readonly event: unknown;
  /** The event's arguments (without the ack callback). */
  readonly args: readonly unknown[];
  readonly ack: boolean;
}

/** A broadcast leaves this node's API for the adapter. The scope covers the adapter's call. */
export interface BroadcastFact {
  readonly namespace: string;
  readonly event: unknown;
  readonly rooms: ReadonlySet<string>;
  readonly except: ReadonlySet<string>;
  readonly flags: { readonly volatile?: boolean; readonly compress?: boolean; readonly local?: boolean; readonly timeout?: number };
  /** Whether acknowledgements are collected. */
  readonly ack: boolean;
}

/** A cluster adapter asks the other nodes (fetchSockets, serverSideEmit with an ack...). Ends when answered or failed. */
export interface AdapterRequestFact {
  readonly namespace: string;
  /** "fetchSockets", "serverSideEmit", "allSockets", "allRooms". */
  readonly request: string;
  readonly requestId: string;
  readonly timeoutMs: number;
}

/**
 * A message from another node of the cluster is acted on here: a broadcast
 * delivered to this node's sockets, or a request answered. The scope covers
 * the handling (for a broadcast, the local delivery).
 */
export interface RemoteFact {
  readonly namespace: string;
  /** "broadcast", "socketsJoin", "socketsLeave", "disconnectSockets", "fetchSockets", "serverSideEmit", "allRooms", "allSockets". */
  readonly message: string;
  /** The sending node's uid. */
  readonly from: string;
  /** broadcast: the event name; serverSideEmit: the event name. */
  readonly event?: unknown;
  /** broadcast: the target rooms and exclusions. */
  readonly rooms?: readonly unknown[];
  readonly except?: readonly unknown[];
  /** broadcast: whether the sender collects acknowledgements. */
  readonly ack?: boolean;
  /** The context fields the sender's `inject` wrote, when it had any (already checked: strings only, bounded). */
  readonly carrier?: Carrier;
}

/** What a subscriber handles; any subset. Handlers must not throw (a throw is reported, not propagated). */
export interface FactSink {
  handshake?(fact: HandshakeFact): Scope | void;
  connection?(fact: ConnectionFact): void;
  disconnect?(fact: DisconnectFact): void;
  event?(fact: EventFact): Scope | void;
  broadcast?(fact: BroadcastFact): Scope | void;
  adapterRequest?(fact: AdapterRequestFact): Scope | void;
  /**
   * A message for other nodes is being published (a broadcast, a request):
   * write the current context's fields into `carrier`. Called synchronously
   * where the message is built, inside the `run` of the broadcast or request
   * scope that caused it.
   */
  inject?(carrier: Carrier): void;
  remote?(fact: RemoteFact): Scope | void;
}

type Kind = keyof FactSink;
const BITS: Record<Kind, number> = {
  handshake: FACT_HANDSHAKE,
  connection: FACT_CONNECTION,
  disconnect: FACT_DISCONNECT,
  event: FACT_EVENT,
  broadcast: FACT_BROADCAST,
  adapterRequest: FACT_ADAPTER_REQUEST,
  inject: FACT_INJECT,
  remote: FACT_REMOTE,
};

function report(err: unknown): void {
  // An observer's bug must not break the traffic it observes; it is not swallowed either.
  process.nextTick(() => {
    throw err;
  });
}

/** Several sinks' scopes as one: ended together, work nested in every `run`. */
class Scopes implements Scope {
  readonly #scopes: Scope[];
  constructor(scopes: Scope[]) {
    this.#scopes = scopes;
  }
  end(error?: unknown): void {
    for (const scope of this.#scopes) {
      try {
        scope.end(error);
      } catch (err) {
        report(err);
      }
    }
  }
  run<T>(fn: () => T): T {
    let work = fn;
    for (const scope of this.#scopes) {
      const inner = work;
      if (scope.run) work = () => scope.run!(inner);
    }
    return work();
  }
}

export class FactBus {
  /** One bit per fact kind that has at least one sink (FACT_*). Test it before building a fact. */
  mask = 0;
  #sinks: FactSink[] = [];

  /** Adds a sink; returns the function that removes it. */
  subscribe(sink: FactSink): () => void {
    this.#sinks = [...this.#sinks, sink];
    this.#update();
    return () => {
      this.#sinks = this.#sinks.filter((s) => s !== sink);
      this.#update();
    };
  }

  #update(): void {
    let mask = 0;
    for (const sink of this.#sinks) {
      for (const kind of Object.keys(BITS) as Kind[]) if (typeof sink[kind] === "function") mask |= BITS[kind];
    }
    this.mask = mask;
  }

  handshake(fact: HandshakeFact): Scope | undefined {
    return this.#scoped("handshake", fact);
  }

  connection(fact: ConnectionFact): void {
    this.#notify("connection", fact);
  }

  disconnect(fact: DisconnectFact): void {
    this.#notify("disconnect", fact);
  }

  event(fact: EventFact): Scope | undefined {
    return this.#scoped("event", fact);
  }

  broadcast(fact: BroadcastFact): Scope | undefined {
    return this.#scoped("broadcast", fact);
  }

  adapterRequest(fact: AdapterRequestFact): Scope | undefined {
    return this.#scoped("adapterRequest", fact);
  }

  remote(fact: RemoteFact): Scope | undefined {
    return this.#scoped("remote", fact);
  }

  /** The context fields the sinks write for a message leaving this node, or undefined when none wrote any. */
  inject(): Carrier | undefined {
    let carrier: Carrier | undefined;
    for (const sink of this.#sinks) {
      if (sink.inject === undefined) continue;
      carrier ??= {};
      try {
        sink.inject(carrier);
      } catch (err) {
        report(err);
      }
    }
    if (carrier === undefined) return undefined;
    for (const _ in carrier) return carrier;
    return undefined;
  }

  #notify(kind: "connection" | "disconnect", fact: any): void {
    for (const sink of this.#sinks) {
      const handler = sink[kind] as ((fact: any) => void) | undefined;
      if (handler === undefined) continue;
      try {
        handler.call(sink, fact);
      } catch (err) {
        report(err);
      }
    }
  }

  #scoped(kind: "handshake" | "event" | "broadcast" | "adapterRequest" | "remote", fact: any): Scope | undefined {
    let first: Scope | undefined;
    let more: Scope[] | undefined;
    for (const sink of this.#sinks) {
      const handler = sink[kind] as ((fact: any) => Scope | void) | undefined;
      if (handler === undefined) continue;
      let scope: Scope | void;
      try {
        scope = handler.call(sink, fact);
      } catch (err) {
        report(err);
        continue;
      }
      if (!scope) continue;
      if (first === undefined) first = scope;
      else (more ??= [first]).push(scope);
    }
    return more !== undefined ? new Scopes(more) : first;
  }
}

/** The process-wide fact bus. */
export const facts = new FactBus();

/** Ends a scope; a sink that throws is reported, never thrown into the traffic's path. */
export function endScope(scope: Scope, error?: unknown): void {
  try {
    scope.end(error);
  } catch (err) {
    report(err);
  }
}

/** Runs `fn` inside `scope` (its `run`, when it has one) and ends the scope after it, with its error if it throws. */
export function within<T>(scope: Scope, fn: () => T): T {
  let result: T;
  try {
    result = scope.run ? scope.run(fn) : fn();
  } catch (err) {
    endScope(scope, err);
    throw err;
  }
  endScope(scope);
  return result;
}
