/**
 * Runs `fns` in order with `(arg, next)`; `done(err)` runs once, after the
 * last middleware called `next()` or as soon as one calls `next(err)`.
 * A middleware that throws counts as `next(err)`. With no middleware `done`
 * runs synchronously.
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
    try {
      fn(arg, (e?: Error) => {
        if (called) return; // each middleware's next() counts once
        called = true;
        next(e);
      });
    } catch (e) {
      if (!called) {
        called = true;
        next(e instanceof Error ? e : new Error(String(e)));
      }
    }
  };
  next();
}
