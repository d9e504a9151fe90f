/**
 * Runs `fn` over `items` with at most `limit` in flight (p-limit). The first failure stops new work, aborts the
 * signal handed to the others, waits for them to settle (nothing left running behind the caller's back) and is
 * rethrown.
 */
import pLimit from 'p-limit';

export async function runPool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, signal: AbortSignal) => Promise<void>,
  outer?: AbortSignal,
): Promise<void> {
  const ctrl = new AbortController();
  const onOuter = (): void => ctrl.abort(outer?.reason);
  if (outer?.aborted) ctrl.abort(outer.reason);
  else outer?.addEventListener('abort', onOuter, { once: true });
  const run = pLimit(Math.max(1, limit));
  let failed = false;
  let firstError: unknown;
  try {
    await run.map(items, async (item) => {
      if (failed) return;
      try {
        await fn(item, ctrl.signal);
      } catch (err) {
        if (failed) return;
        failed = true;
        firstError = err;
        ctrl.abort(err);
      }
    });
  } finally {
    outer?.removeEventListener('abort', onOuter);
  }
  if (failed) throw firstError;
}
