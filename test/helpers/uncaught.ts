/**
 * Observes what reaches `process.on("uncaughtException")` during a test.
 *
 * vitest reports uncaught exceptions and unhandled rejections of a test
 * file as errors of the run: `captureUncaught()` takes its listeners off
 * both events and puts one of its own on "uncaughtException" (with no
 * "unhandledRejection" listener left, Node raises an unhandled rejection
 * there too, with the origin "unhandledRejection"). `release()` (call it in
 * `afterEach`) puts vitest's listeners back.
 */
export interface Uncaught {
  error: unknown;
  /** "uncaughtException", or "unhandledRejection" for a rejection nobody handled. */
  origin: string;
}

export interface UncaughtCapture {
  readonly seen: Uncaught[];
  /** Resolves with the next one (or one already seen and not yet taken). */
  next(timeoutMs?: number): Promise<Uncaught>;
}

let saved: { exceptions: NodeJS.UncaughtExceptionListener[]; rejections: NodeJS.UnhandledRejectionListener[] } | null =
  null;
let listener: NodeJS.UncaughtExceptionListener | null = null;

export function captureUncaught(): UncaughtCapture {
  if (saved !== null) throw new Error("captureUncaught() is already active: call releaseUncaught() first");
  saved = {
    exceptions: process.listeners("uncaughtException"),
    rejections: process.listeners("unhandledRejection"),
  };
  process.removeAllListeners("uncaughtException");
  process.removeAllListeners("unhandledRejection");
  const seen: Uncaught[] = [];
  let taken = 0;
  const waiters: Array<(u: Uncaught) => void> = [];
  listener = (error, origin) => {
    const entry = { error, origin };
    seen.push(entry);
    const waiter = waiters.shift();
    if (waiter !== undefined) {
      taken++;
      waiter(entry);
    }
  };
  process.on("uncaughtException", listener);
  return {
    seen,
    next(timeoutMs = 3000) {
      if (taken < seen.length) return Promise.resolve(seen[taken++]);
      return new Promise<Uncaught>((resolve, reject) => {
        const waiter = (u: Uncaught): void => {
          clearTimeout(timer);
          resolve(u);
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for an uncaught exception`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
  };
}

/** Gives vitest its listeners back (safe to call when nothing is captured). */
export function releaseUncaught(): void {
  if (saved === null) return;
  if (listener !== null) process.removeListener("uncaughtException", listener);
  listener = null;
  for (const l of saved.exceptions) process.on("uncaughtException", l);
  for (const l of saved.rejections) process.on("unhandledRejection", l);
  saved = null;
}
