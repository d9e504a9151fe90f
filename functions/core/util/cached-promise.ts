/**
 * A value loaded once and shared by every caller (a secret read per cold start, for example): concurrent callers
 * wait for the same load, a successful load is kept, and a failed one is not, so the next call tries again.
 */
export interface CachedPromise<T> {
  get(): Promise<T>;
  /** Forgets the value: the next get() loads it again. */
  invalidate(): void;
}

export function cachedUntilFailure<T>(load: () => Promise<T>): CachedPromise<T> {
  let cached: Promise<T> | undefined;
  return {
    get() {
      if (!cached) {
        const p = load();
        cached = p;
        p.catch(() => {
          if (cached === p) cached = undefined;
        });
      }
      return cached;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
