/**
 * Runs `fns` in order with `(arg, next)`; `done(err)` runs once, after the
 * last middleware called `next()` or as soon as one calls `next(err)`.
 * With no middleware `done` runs synchronously.
 *
 * A middleware that throws is the application's error, not a refusal: the
 * exception propagates to whoever ran the middleware (as in socket.io), and
 * the chain only goes on if that middleware still calls `next()`.
 */
export function runMiddlewares<A>(
  fns: ReadonlyArray<(arg: A, next: (err?: Error) => void) => void>,
  arg: A,
  done: (err?: Error) => void,
): void {
  if (fns.length === 0) return done();
  const list = fns.slice();
  let index = 0;
  let finished = false;
  const next = (err?: Error): void => {
    if (finished) return;
    if (err || index === list.length) {
      finished = true;
      done(err ?? undefined);
      return;
    }
    const fn = list[index++];
    let called = false;
    fn(arg, (e?: Error) => {
      if (called) return; // each middleware's next() counts once
      called = true;
      next(e);
    });
  };
  next();
}
