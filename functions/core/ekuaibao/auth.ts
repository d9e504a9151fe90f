/**
 * The auth side of the 合思 client: app credentials → an access token (cached, one shared fetch), and data calls
 * that carry it. A refused token is dropped and fetched again once; refused credentials are re-read once in case
 * they were rotated. Both end in EkuaibaoAuthError when 合思 refuses again.
 */
import { EkuaibaoAuthError, ValidationError } from '../errors.js';
import type { CredentialsSource, EkuaibaoCredentials, Logger } from '../ports.js';
import {
  AuthRefused,
  type CallResult,
  type CallSpec,
  type EkuaibaoClientStats,
  type SecretScrubber,
  type SendCall,
} from './http-call.js';
import { type AccessToken, TokenCache } from './token-cache.js';
import { badResponse } from './upstream-errors.js';

const TOKEN_PATH = '/api/openapi/v1/auth/getAccessToken';
/** Used when the token answer has no readable expireTime; the vendor's tokens live about 2 h. */
const FALLBACK_TOKEN_LIFETIME_MS = 60 * 60_000;

export interface AuthOptions {
  send: SendCall;
  credentials: CredentialsSource;
  /** Called when 合思 refuses the credentials, so an adapter can drop its cache (a rotated secret). */
  onCredentialsRejected?: () => void;
  tokenRefreshMarginMs: number;
  now: () => number;
  log: Logger;
  stats: EkuaibaoClientStats;
  secrets: SecretScrubber;
}

export interface Auth {
  tokens: TokenCache;
  /** A data call with the cached token; see the file comment for what a 401/403 does. */
  authed(spec: CallSpec): Promise<CallResult>;
}

export function createAuth(o: AuthOptions): Auth {
  async function readCredentials(): Promise<EkuaibaoCredentials> {
    const creds = await o.credentials();
    if (
      !creds ||
      typeof creds.appKey !== 'string' ||
      creds.appKey === '' ||
      typeof creds.appSecurity !== 'string' ||
      creds.appSecurity === ''
    ) {
      throw new ValidationError('合思 credentials must have a non-empty appKey and appSecurity');
    }
    o.secrets.rememberAppSecret(creds.appSecurity);
    return creds;
  }

  async function fetchToken(): Promise<AccessToken> {
    let creds = await readCredentials();
    for (let round = 1; ; round++) {
      try {
        const { body } = await o.send({
          route: 'getAccessToken',
          method: 'POST',
          path: TOKEN_PATH,
          json: { appKey: creds.appKey, appSecurity: creds.appSecurity },
          counter: 'tokenFetches',
        });
        return readToken(body, o);
      } catch (err) {
        if (!(err instanceof AuthRefused)) throw err;
        if (round === 1 && o.onCredentialsRejected) {
          o.onCredentialsRejected();
          const fresh = await readCredentials();
          if (fresh.appKey !== creds.appKey || fresh.appSecurity !== creds.appSecurity) {
            creds = fresh; // rotated since we read them: worth one more try
            o.stats.retries++;
            continue;
          }
        }
        throw new EkuaibaoAuthError(
          `合思 refused the app credentials (${err.message}); check EKB_APP_KEY/EKB_APP_SECURITY or the EKB_CREDENTIALS_SECRET secret`,
          { details: { route: err.route, upstreamStatus: err.upstreamStatus, ...err.parsed } },
        );
      }
    }
  }

  const tokens = new TokenCache(fetchToken, o.now, o.tokenRefreshMarginMs);

  // 401/403 on a data call: the token expired, was revoked, or is the vendor's refusal of a token used right
  // after issue. Drop that token, fetch a new one once, retry once; a second refusal is an auth error.
  async function authed(spec: CallSpec): Promise<CallResult> {
    const first = await tokens.get(spec.signal);
    try {
      return await o.send(spec, first.accessToken);
    } catch (err) {
      if (!(err instanceof AuthRefused)) throw err;
      tokens.invalidate(first.accessToken);
      o.stats.authRetries++;
      o.stats.retries++;
      o.log.info('合思 refused the access token; fetching a new one', {
        route: spec.route,
        status: err.upstreamStatus,
      });
    }
    const second = await tokens.get(spec.signal);
    try {
      return await o.send(spec, second.accessToken);
    } catch (err) {
      if (!(err instanceof AuthRefused)) throw err;
      tokens.invalidate(second.accessToken);
      throw new EkuaibaoAuthError(`${err.message} (refused again with a freshly issued access token)`, {
        details: { route: err.route, upstreamStatus: err.upstreamStatus, ...err.parsed },
      });
    }
  }

  return { tokens, authed };
}

function readToken(body: unknown, o: Pick<AuthOptions, 'now' | 'log' | 'secrets'>): AccessToken {
  const value =
    body !== null && typeof body === 'object' ? (body as Record<string, unknown>).value : undefined;
  const v = (value ?? body) as Record<string, unknown> | undefined;
  const accessToken = v && typeof v === 'object' ? v.accessToken : undefined;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw badResponse('getAccessToken', 'no accessToken in the answer');
  }
  o.secrets.rememberToken(accessToken);
  let expireTime = Number(v?.expireTime);
  if (!Number.isFinite(expireTime) || expireTime <= 0) {
    o.log.warn('合思 token answer has no usable expireTime; assuming one hour');
    expireTime = o.now() + FALLBACK_TOKEN_LIFETIME_MS;
  } else if (expireTime < 1e12) {
    // Seconds, not the documented milliseconds: 1e12 ms is 2001, 1e12 s is far in the future.
    expireTime *= 1000;
  }
  return { accessToken, expireTime };
}
