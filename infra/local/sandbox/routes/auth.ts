/**
 * Authentication: getAccessToken (credentials in the JSON body only; the query gets 403), refreshToken (swaps a
 * live pair; the old access token stops working), the tenant-location lookup, and the token check every data
 * call makes (`accessToken` from the query only; expired, unknown or revoked → 403 未授权).
 */
import { randomBytes } from 'node:crypto';
import { DEMO_CORPORATION_ID } from '../demo-data.js';
import { parseJson, type RequestContext, sendApiError, sendJson, sendMethodNotAllowed } from '../http.js';
import type { SandboxState } from '../state.js';
import { exactPaths, type RouteSpec } from './route-spec.js';

export const AUTH_PATHS = {
  token: '/api/openapi/v1/auth/getAccessToken',
  refreshToken: '/api/openapi/v2/auth/refreshToken',
  location: '/api/openapi/v2/location',
} as const;

export const tokenRoute: RouteSpec = {
  scope: 'token',
  matches: exactPaths(AUTH_PATHS.token),
  handle(ctx, state) {
    state.stats.tokenCalls += 1;
    if (ctx.req.method !== 'POST') {
      sendMethodNotAllowed(ctx);
      return;
    }
    const q = ctx.url.searchParams;
    if (q.has('appKey') || q.has('appSecurity')) {
      sendJson(ctx, 403, { value: { errorCode: 403, errorMessage: '密钥无效: 请在请求体中传递' } });
      return;
    }
    const parsed = parseJson(ctx.body);
    if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object') {
      sendJson(ctx, 400, { errorCode: 400, errorMessage: '请求体必须是 JSON 对象 {appKey, appSecurity}' });
      return;
    }
    const creds = parsed.value as Record<string, unknown>;
    if (creds.appKey !== state.appKey || creds.appSecurity !== state.appSecurity) {
      sendJson(ctx, 403, { value: { errorCode: 403, errorMessage: '密钥无效' } });
      return;
    }
    sendJson(ctx, 200, { value: issueToken(state) });
  },
};

/** Swaps a live token and its refresh token for a new pair; an expired or unknown token cannot be refreshed. */
export const refreshTokenRoute: RouteSpec = {
  scope: 'token',
  matches: exactPaths(AUTH_PATHS.refreshToken),
  handle(ctx, state) {
    state.stats.refreshTokenCalls += 1;
    if (ctx.req.method !== 'POST') {
      sendMethodNotAllowed(ctx);
      return;
    }
    const q = ctx.url.searchParams;
    const token = q.get('accessToken') ?? '';
    const record = state.tokens.get(token);
    if (!record || record.expireTime <= state.now() || record.refreshToken !== q.get('refreshToken')) {
      state.stats.unauthorizedCalls += 1;
      sendApiError(ctx, 403, '未授权');
      return;
    }
    state.tokens.delete(token);
    sendJson(ctx, 200, { value: issueToken(state) });
  },
};

/** Where the tenant lives: always here (the real one can move hosts with vendor upgrades). */
export const locationRoute: RouteSpec = {
  scope: undefined,
  matches: exactPaths(AUTH_PATHS.location),
  handle(ctx, state) {
    sendJson(ctx, 200, { value: `${state.baseUrl}/` });
  },
};

function issueToken(state: SandboxState): {
  accessToken: string;
  refreshToken: string;
  expireTime: number;
  corporationId: string;
} {
  const accessToken = `ID01${randomToken(10)}:${randomToken(6)}`;
  const refreshToken = `ID01${randomToken(10)}:${randomToken(6)}`;
  const expireTime = state.now() + state.tokenTtlMs;
  state.tokens.set(accessToken, { expireTime, refreshToken, used: false });
  state.issued.push(accessToken, refreshToken);
  return { accessToken, refreshToken, expireTime, corporationId: DEMO_CORPORATION_ID };
}

/** True when the data call may go on; otherwise the 403 has been sent. */
export function authorize(ctx: RequestContext, state: SandboxState): boolean {
  const token = ctx.url.searchParams.get('accessToken');
  const record = token ? state.tokens.get(token) : undefined;
  let ok = record !== undefined && record.expireTime > state.now();
  if (ok && record && !record.used && ctx.route) {
    record.used = true;
    // The 2023 quirk: a token's very first call could be refused.
    if (state.faults.take('forbiddenAfterIssue', ctx.route)) ok = false;
  }
  if (!ok) {
    state.stats.unauthorizedCalls += 1;
    sendApiError(ctx, 403, '未授权');
  }
  return ok;
}

function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}
