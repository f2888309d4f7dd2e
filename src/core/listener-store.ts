/**
 * A lighter listener store for EventEmitters that exist once per connection.
 *
 * Node's EventEmitter keeps listeners in `{ __proto__: null }`, which V8
 * creates in dictionary mode: about 220 bytes per emitter before the first
 * listener. An instance of a constructor whose prototype is an empty,
 * prototype-less object is a fast-mode object that still inherits nothing
 * (an event named "toString" or "__proto__" finds no inherited value), and
 * emitters of one kind that get the same event names in the same order share
 * one hidden class. EventEmitter only reads, writes, deletes and lists own
 * keys of `_events`, so every method keeps working; `removeAllListeners()`
 * simply goes back to Node's own store.
 */
import type { EventEmitter } from "node:events";

interface ListenerStore {
  [event: string | symbol]: Function | Function[] | undefined;
}

const ListenerStore = function ListenerStore(this: ListenerStore) {} as unknown as new () => ListenerStore;
ListenerStore.prototype = Object.create(null);

/** Gives a freshly constructed emitter (no listeners yet) the lighter store. */
export function useLightListenerStore(emitter: EventEmitter): void {
  const target = emitter as unknown as { _events: ListenerStore; _eventsCount: number };
  if (target._eventsCount === 0) target._events = new ListenerStore();
}

/**
 * Whether `emitter` has a listener for `event`: what `listenerCount(event) > 0`
 * says, without the call (a hot path asks this for every packet it queues).
 */
export function hasListeners(emitter: EventEmitter, event: string): boolean {
  const events = (emitter as unknown as { _events?: ListenerStore })._events;
  return events !== undefined && events[event] !== undefined;
}
