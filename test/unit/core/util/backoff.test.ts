import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortedError } from '../../../../functions/core/errors.js';
import {
  abortableSleep,
  backoffDelay,
  DEFAULT_BACKOFF,
  defaultSleep,
  parseRetryAfter,
  retryDelay,
} from '../../../../functions/core/util/backoff.js';

const NOW = Date.parse('2025-06-23T05:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('3', NOW)).toBe(3000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter('1.5', NOW)).toBe(1500);
  });

  it('reads an HTTP-date relative to the clock, never negative', () => {
    expect(parseRetryAfter('Mon, 23 Jun 2025 05:00:07 GMT', NOW)).toBe(7000);
    expect(parseRetryAfter('Mon, 23 Jun 2025 04:59:00 GMT', NOW)).toBe(0);
  });

  it('takes the first value of a repeated header', () => {
    expect(parseRetryAfter(['2', '9'], NOW)).toBe(2000);
  });

  it('gives undefined for absent or unreadable values', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter('-5', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  const policy = { baseMs: 100, maxMs: 1000, maxRetryAfterMs: 30_000 };

  it('doubles the cap per retry and picks uniformly below it (full jitter)', () => {
    expect(backoffDelay(1, policy, () => 0.999999)).toBe(99);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(100);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(200);
    expect(backoffDelay(1, policy, () => 0)).toBe(0);
  });

  it('never exceeds maxMs however many retries', () => {
    expect(backoffDelay(30, policy, () => 0.999999)).toBeLessThanOrEqual(1000);
    expect(backoffDelay(30, policy, () => 0.999999)).toBeGreaterThan(990);
  });
});

describe('retryDelay', () => {
  it('prefers Retry-After and caps it at maxRetryAfterMs', () => {
    expect(retryDelay(1, 2000, DEFAULT_BACKOFF, () => 0.5)).toBe(2000);
    expect(retryDelay(1, 3_600_000, DEFAULT_BACKOFF, () => 0.5)).toBe(DEFAULT_BACKOFF.maxRetryAfterMs);
  });

  it('falls back to jittered backoff without Retry-After', () => {
    expect(retryDelay(2, undefined, DEFAULT_BACKOFF, () => 0.5)).toBe(DEFAULT_BACKOFF.baseMs);
  });
});

describe('defaultSleep and abortableSleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves after the delay on the clock', async () => {
    vi.useFakeTimers();
    let done = false;
    const p = defaultSleep(1000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
  });

  it('ends a long sleep at once with AbortedError when the signal aborts', async () => {
    vi.useFakeTimers();
    const ctrl = new AbortController();
    const p = defaultSleep(60_000, ctrl.signal);
    const assertion = expect(p).rejects.toBeInstanceOf(AbortedError);
    ctrl.abort();
    await assertion;
  });

  it('ends even when the injected sleep ignores the signal', async () => {
    const ctrl = new AbortController();
    const neverEnds = (): Promise<void> => new Promise<void>(() => {});
    const p = abortableSleep(neverEnds, 60_000, ctrl.signal);
    const assertion = expect(p).rejects.toBeInstanceOf(AbortedError);
    ctrl.abort();
    await assertion;
  });

  it('rejects at once when the signal is already aborted', async () => {
    const sleep = vi.fn(async () => {});
    await expect(abortableSleep(sleep, 10, AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError);
    expect(sleep).not.toHaveBeenCalled();
  });
});
