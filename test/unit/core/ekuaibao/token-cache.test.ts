import { describe, expect, it, vi } from 'vitest';
import { type AccessToken, TokenCache } from '../../../../functions/core/ekuaibao/token-cache.js';
import { AbortedError } from '../../../../functions/core/errors.js';

const HOUR = 3_600_000;
const MIN = 60_000;

function setup(lifetimeMs = 2 * HOUR) {
  let clock = 1_700_000_000_000;
  let n = 0;
  const fetchToken = vi.fn(async (): Promise<AccessToken> => {
    n++;
    return { accessToken: `T${n}`, expireTime: clock + lifetimeMs };
  });
  const cache = new TokenCache(fetchToken, () => clock);
  return { cache, fetchToken, advance: (ms: number) => (clock += ms) };
}

describe('TokenCache', () => {
  it('reuses the token until 5 minutes before expireTime, then fetches a new one', async () => {
    const { cache, fetchToken, advance } = setup();
    expect((await cache.get()).accessToken).toBe('T1');
    advance(2 * HOUR - 5 * MIN - 1);
    expect((await cache.get()).accessToken).toBe('T1');
    expect(fetchToken).toHaveBeenCalledTimes(1);
    advance(1);
    expect((await cache.get()).accessToken).toBe('T2');
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it('shares one in-flight fetch among concurrent callers', async () => {
    const { cache, fetchToken } = setup();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => cache.get()));
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['T1']));
    expect(fetchToken).toHaveBeenCalledTimes(1);
  });

  it('renews a short-lived token at half its life instead of never caching it', async () => {
    const { cache, fetchToken, advance } = setup(2 * MIN);
    await cache.get();
    advance(59_000);
    await cache.get();
    expect(fetchToken).toHaveBeenCalledTimes(1);
    advance(1_000);
    await cache.get();
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it('invalidate drops only the token it names, keeping a newer one', async () => {
    const { cache, fetchToken } = setup();
    await cache.get();
    cache.invalidate('T1');
    expect((await cache.get()).accessToken).toBe('T2');
    cache.invalidate('T1');
    expect((await cache.get()).accessToken).toBe('T2');
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it('does not cache a failed fetch', async () => {
    const fetchToken = vi
      .fn<() => Promise<AccessToken>>()
      .mockRejectedValueOnce(new Error('down'))
      .mockResolvedValueOnce({ accessToken: 'T', expireTime: Date.now() + HOUR });
    const cache = new TokenCache(fetchToken, Date.now);
    await expect(cache.get()).rejects.toThrow('down');
    expect((await cache.get()).accessToken).toBe('T');
  });

  it('lets one caller stop waiting on abort without cancelling the shared fetch', async () => {
    let release!: (t: AccessToken) => void;
    const fetchToken = vi.fn(() => new Promise<AccessToken>((r) => (release = r)));
    const cache = new TokenCache(fetchToken, Date.now);
    const ctrl = new AbortController();
    const impatient = cache.get(ctrl.signal);
    const patient = cache.get();
    ctrl.abort();
    await expect(impatient).rejects.toBeInstanceOf(AbortedError);
    release({ accessToken: 'T', expireTime: Date.now() + HOUR });
    expect((await patient).accessToken).toBe('T');
    expect(fetchToken).toHaveBeenCalledTimes(1);
  });
});
