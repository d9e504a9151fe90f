import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deadlineSignal } from '../../../../functions/core/copy/deadline.js';

describe('deadlineSignal', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fires the margin before the remaining time runs out', () => {
    const d = deadlineSignal(60_000, 20_000);
    vi.advanceTimersByTime(39_999);
    expect(d.options.signal?.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(d.options.signal?.aborted).toBe(true);
    expect((d.options.signal?.reason as { code?: string } | undefined)?.code).toBe('deadline');
  });

  it('fires at once when less time than the margin is left', () => {
    const d = deadlineSignal(5_000, 20_000);
    expect(d.options.signal?.aborted).toBe(true);
  });

  it('gives no signal without a known deadline, and dispose stops the timer', () => {
    expect(deadlineSignal(undefined, 1_000).options.signal).toBeUndefined();
    const d = deadlineSignal(2_000, 1_000);
    d.dispose();
    vi.advanceTimersByTime(5_000);
    expect(d.options.signal?.aborted).toBe(false);
  });
});
