/**
 * One `setImmediate` for every session with pending output: sends made during
 * an event-loop turn are collected, and each dirty session hands its whole
 * queue to its transport once, after the I/O callbacks of that turn. A
 * connection's packets therefore leave in one write per turn, never one
 * syscall per packet.
 */
export interface Flushable {
  /** @internal set while queued here; owned by this module */
  _flushQueued: boolean;
  /** @internal hands the queue to the transport */
  flushNow(): void;
}

let dirty: Flushable[] = [];
let spare: Flushable[] = [];
let scheduled = false;

function run(): void {
  scheduled = false;
  const list = dirty;
  dirty = spare;
  for (let i = 0; i < list.length; i++) {
    const session = list[i];
    session._flushQueued = false;
    try {
      session.flushNow();
    } catch (err) {
      // A failing session must not stop the others from flushing.
      process.nextTick(() => {
        throw err;
      });
    }
  }
  list.length = 0;
  spare = list;
}

/** Queues `session` for the next flush (once per turn). */
export function scheduleFlush(session: Flushable): void {
  if (session._flushQueued) return;
  session._flushQueued = true;
  dirty.push(session);
  if (!scheduled) {
    scheduled = true;
    setImmediate(run);
  }
}
