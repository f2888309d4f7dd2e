/**
 * Exceptions thrown by application code (listeners, handlers, middlewares,
 * ack callbacks) belong to the application. As with socket.io they reach
 * `process.on("uncaughtException")`, or end the process when nothing
 * listens there; they never close a connection, and they are never
 * swallowed.
 *
 * Where tidewire calls application code in the middle of its own work (a
 * packet being delivered, a socket leaving its rooms, a queue being
 * flushed), it catches the exception, finishes that work so that its state
 * stays consistent, and raises the exception again from a fresh stack.
 */

/** Raises `err` as an uncaught exception once the current stack (tidewire's) has unwound. */
export function rethrowLater(err: unknown): void {
  process.nextTick(raise, err);
}

/**
 * Raises `err` as an unhandled promise rejection: for the application code
 * that socket.io runs inside an async function (namespace middlewares,
 * engine `connection` listeners), so that an `unhandledRejection` handler
 * sees it there too.
 */
export function rejectLater(err: unknown): void {
  void Promise.reject(err);
}

function raise(err: unknown): never {
  throw err;
}
