/**
 * The heartbeat of a session: its phases and the clock it reads. Engine.IO
 * v4: the server pings every pingInterval and waits pingTimeout for the
 * pong; v3: the client pings and the server answers. A session keeps its
 * phase in a small integer and is its own timer entry (core/timers.ts).
 */
import { coalescingWindow } from "../core/timers.js";

/** No heartbeat (closed). */
export const HB_IDLE = 0;
/** v4: waiting for the time of the next ping. */
export const HB_AWAIT_PING_TIME = 1;
/** v4: a ping left; waiting for its pong. */
export const HB_AWAIT_PONG = 2;
/** v3: waiting for the client's ping. */
export const HB_AWAIT_CLIENT_PING = 3;

/**
 * The delay the next ping is armed with. A client allows a ping to come at
 * most pingTimeout after pingInterval, and the shared timers may fire an
 * entry up to coalescingWindow(delay) after its deadline (to batch wake-ups):
 * armed that much early, a ping leaves within [pingInterval - window,
 * pingInterval], never later than with a plain timer, whatever pingTimeout is.
 */
export function pingDelay(pingInterval: number): number {
  return pingInterval - coalescingWindow(pingInterval);
}

/** Times kept in 30 bits (a small integer): differences are right for spans under 12 days. */
const MS_MASK = 0x3fffffff;

/** Now, in milliseconds masked to 30 bits. */
export function clockMs(): number {
  return Date.now() & MS_MASK;
}

/** Milliseconds since `at` (a clockMs() value). */
export function elapsedMs(at: number): number {
  return ((Date.now() & MS_MASK) - at) & MS_MASK;
}
