import type { Event } from "./socket.js";

/**
 * A socket's middlewares (`use`) and catch-all listeners (`onAny`,
 * `onAnyOutgoing`). Most sockets have none, so a socket creates this on
 * first use and otherwise pays one field.
 */
export interface SocketHooks {
  fns: Array<(event: Event, next: (err?: Error) => void) => void> | undefined;
  any: Array<(...args: any[]) => void> | undefined;
  anyOutgoing: Array<(...args: any[]) => void> | undefined;
}

export function newHooks(): SocketHooks {
  return { fns: undefined, any: undefined, anyOutgoing: undefined };
}

/** `list` without `listener`; no listener given clears the list. */
export function removeListener<T>(list: T[] | undefined, listener?: T): T[] | undefined {
  if (!list) return undefined;
  if (!listener) return undefined;
  const index = list.indexOf(listener);
  if (index !== -1) list.splice(index, 1);
  return list;
}
