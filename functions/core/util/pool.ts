/**
 * Runs `fn` over `items` with at most `limit` in flight. The first failure stops new work, aborts the signal
 * handed to the others, waits for them to settle (nothing left running behind the caller's back) and is rethrown.
 */
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
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item, ctrl.signal);
      } catch (err) {
        if (!failed) {
          failed = true;
          firstError = err;
          ctrl.abort(err);
        }
      }
    }
  };
  try {
    const n = Math.max(1, Math.min(limit, items.length));
    await Promise.all(Array.from({ length: n }, worker));
  } finally {
    outer?.removeEventListener('abort', onOuter);
  }
  if (failed) throw firstError;
}
