import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../functions/core/errors.js';
import { deadlineSignal } from '../../../functions/middleware/deadline.js';

describe('deadlineSignal', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fires the margin before the remaining time runs out', () => {
    const d = deadlineSignal(60_000, 20_000);
    vi.advanceTimersByTime(39_999);
    expect(d.signal?.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(d.signal?.aborted).toBe(true);
    expect((d.signal?.reason as { code?: string } | undefined)?.code).toBe('deadline');
  });

  it('fires at once when less time than the margin is left', () => {
    const d = deadlineSignal(5_000, 20_000);
    expect(d.signal?.aborted).toBe(true);
  });

  it('gives no signal without a known deadline, and dispose stops the timer', () => {
    expect(deadlineSignal(undefined, 1_000).signal).toBeUndefined();
    const d = deadlineSignal(2_000, 1_000);
    d.dispose();
    vi.advanceTimersByTime(5_000);
    expect(d.signal?.aborted).toBe(false);
  });
});

describe('deadlineSignal from a Lambda context', () => {
  it('gives no signal without a Lambda context', () => {
    expect(deadlineSignal(undefined, 1_500).signal).toBeUndefined();
    expect(
      deadlineSignal(({} as { getRemainingTimeInMillis?: () => number }).getRemainingTimeInMillis?.(), 1_500)
        .signal,
    ).toBeUndefined();
  });

  it('aborts once the remaining time minus the margin has passed', async () => {
    const deadline = deadlineSignal(1_520, 1_500);
    expect(deadline.signal?.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(deadline.signal?.aborted).toBe(true);
    expect(deadline.signal?.reason).toBeInstanceOf(AppError);
    expect(deadline.signal?.reason).toMatchObject({ code: 'deadline' });
  });

  it('aborts at once when less time is left than the margin, and dispose stops a pending timer', async () => {
    const late = deadlineSignal(500, 1_500);
    await new Promise((r) => setTimeout(r, 5));
    expect(late.signal?.aborted).toBe(true);
    const disposed = deadlineSignal(1_510, 1_500);
    disposed.dispose();
    await new Promise((r) => setTimeout(r, 40));
    expect(disposed.signal?.aborted).toBe(false);
  });
});
