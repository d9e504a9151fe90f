import { describe, expect, it } from 'vitest';
import { cachedUntilFailure } from '../../../../functions/core/util/cached-promise.js';

describe('cachedUntilFailure', () => {
  it('loads once for concurrent and later callers, and again after invalidate()', async () => {
    let loads = 0;
    const value = cachedUntilFailure(async () => ++loads);
    expect(await Promise.all([value.get(), value.get()])).toEqual([1, 1]);
    expect(await value.get()).toBe(1);
    value.invalidate();
    expect(await value.get()).toBe(2);
  });

  it('does not keep a failed load: the next call tries again', async () => {
    let loads = 0;
    const value = cachedUntilFailure(async () => {
      loads += 1;
      if (loads === 1) throw new Error('unavailable');
      return 'ok';
    });
    await expect(value.get()).rejects.toThrow('unavailable');
    expect(await value.get()).toBe('ok');
    expect(loads).toBe(2);
  });
});
