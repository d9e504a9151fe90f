import { AbortedError } from '../errors.js';

export interface AccessToken {
  accessToken: string;
  /** Epoch ms, as 合思 sends it. */
  expireTime: number;
}

/** Public integrations renew about 5 minutes before `expireTime`; calls in flight then never meet an expired token. */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Caches one access token per process, with a single in-flight fetch shared by every concurrent caller
 * (N parallel requests cause one token call, never N).
 */
export class TokenCache {
  private current: (AccessToken & { fetchedAt: number }) | undefined;
  private inflight: Promise<AccessToken> | undefined;

  constructor(
    private readonly fetchToken: () => Promise<AccessToken>,
    private readonly now: () => number,
    private readonly marginMs = TOKEN_REFRESH_MARGIN_MS,
  ) {}

  /**
   * A usable token. The shared fetch is not tied to any caller's signal (others may wait on it); each caller
   * stops waiting when its own signal aborts.
   */
  get(signal?: AbortSignal): Promise<AccessToken> {
    if (signal?.aborted) return Promise.reject(new AbortedError('aborted', signal.reason));
    const cached = this.current;
    if (cached && this.now() < this.renewAt(cached)) return Promise.resolve(cached);
    if (!this.inflight) {
      const started = this.now();
      const p = this.fetchToken().then((token) => {
        this.current = { ...token, fetchedAt: started };
        return token;
      });
      this.inflight = p;
      // Clear the slot whether it worked or not, so a failed fetch is retried by the next caller.
      p.then(
        () => this.clearInflight(p),
        () => this.clearInflight(p),
      );
    }
    return signal ? raceAbort(this.inflight, signal) : this.inflight;
  }

  /** Drops `token` if it is still the cached one (a newer token fetched meanwhile by someone else is kept). */
  invalidate(token?: string): void {
    if (token === undefined || this.current?.accessToken === token) this.current = undefined;
  }

  /**
   * Renew `marginMs` before expiry; for a token that lives less than twice the margin (tests, odd tenants),
   * renew at half its life instead so it is still used at all.
   */
  private renewAt(t: AccessToken & { fetchedAt: number }): number {
    const life = t.expireTime - t.fetchedAt;
    return t.expireTime - Math.min(this.marginMs, Math.max(0, life / 2));
  }

  private clearInflight(p: Promise<AccessToken>): void {
    if (this.inflight === p) this.inflight = undefined;
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError('aborted', signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
