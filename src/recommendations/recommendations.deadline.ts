/**
 * A promise raced against a time limit, for work inside the one recommendation deadline. The
 * work is not cancelled (a query or call still finishes in the background), its result is only
 * dropped; its rejection is always handled, so a late failure never becomes an unhandled one.
 */
export type Within<T> =
  { ok: true; value: T } | { ok: false; timedOut: true } | { ok: false; timedOut: false; error: unknown };

export function within<T>(work: Promise<T>, ms: number): Promise<Within<T>> {
  const settled = work.then(
    (value): Within<T> => ({ ok: true, value }),
    (error: unknown): Within<T> => ({ ok: false, timedOut: false, error }),
  );
  if (ms <= 0) return Promise.resolve({ ok: false, timedOut: true });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Within<T>>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, timedOut: true }), ms);
  });
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}
