import { AbortedError } from '../errors.js';

/** Waits `ms`; may reject when `signal` aborts. Injected so tests run backoff without real time passing. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface BackoffPolicy {
  /** First retry waits up to this long (full jitter: a uniform pick in [0, cap]). */
  baseMs: number;
  /** Ceiling for one exponential backoff step. */
  maxMs: number;
  /** Ceiling for a server-sent Retry-After: a misbehaving server must not park a Lambda for minutes. */
  maxRetryAfterMs: number;
}

// 250 ms doubling to 5 s: four tries span about 2 s on average, short enough for a synchronous API call.
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 5_000, maxRetryAfterMs: 30_000 };

export const defaultSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError('aborted', signal.reason));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError('aborted', signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Runs the injected sleep but ends at once with AbortedError when `signal` aborts, even if the injected sleep
 * ignores the signal (a fake sleep in tests, a plain timer).
 */
export function abortableSleep(sleep: Sleep, ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return sleep(ms);
  if (signal.aborted) return Promise.reject(new AbortedError('aborted', signal.reason));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError('aborted', signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    sleep(ms, signal).then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? new AbortedError('aborted', signal.reason) : err);
      },
    );
  });
}

/** Full-jitter exponential backoff (AWS architecture blog): uniform in [0, min(max, base·2^(retry-1))]. */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * cap);
}

/**
 * Retry-After is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3). Returns milliseconds to wait, or
 * undefined when absent or unparseable (the caller then falls back to its own backoff).
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Only date-looking text: Date.parse accepts odd inputs such as "1" or "-5" that are not HTTP-dates.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** The delay before retry number `retry` (1 = the first retry): Retry-After when the server sent one, capped. */
export function retryDelay(
  retry: number,
  retryAfterMs: number | undefined,
  policy: BackoffPolicy,
  random: () => number,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  return backoffDelay(retry, policy, random);
}
