import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { call, getToken, withToken } from './sandbox-client.js';

const TOKEN_PATH = '/api/openapi/v1/auth/getAccessToken';
const LIST_PATH = '/api/openapi/v1.1/docs/getApplyList?type=expense&start=0&count=10';

describe('sandbox auth', () => {
  let clock: number;
  let sandbox: EkuaibaoSandbox;

  beforeEach(async () => {
    clock = Date.UTC(2026, 2, 3, 4, 0, 0);
    sandbox = await startEkuaibaoSandbox({ now: () => clock });
  });
  afterEach(async () => {
    await sandbox.close();
  });

  it('issues a token with a colon and an expireTime two hours ahead for good credentials', async () => {
    const answer = await call(`${sandbox.baseUrl}${TOKEN_PATH}`, {
      method: 'POST',
      body: JSON.stringify({ appKey: sandbox.appKey, appSecurity: sandbox.appSecurity }),
    });

    expect(answer.status).toBe(200);
    const value = JSON.parse(answer.text).value;
    expect(value.accessToken).toMatch(/^ID01.+:.+$/);
    expect(typeof value.refreshToken).toBe('string');
    expect(value.expireTime).toBe(clock + 2 * 60 * 60 * 1000);
    expect(typeof value.corporationId).toBe('string');
    expect(sandbox.stats.tokenCalls).toBe(1);
  });

  it('answers 403 密钥无效 for a wrong secret', async () => {
    const answer = await call(`${sandbox.baseUrl}${TOKEN_PATH}`, {
      method: 'POST',
      body: JSON.stringify({ appKey: sandbox.appKey, appSecurity: 'wrong' }),
    });

    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.text)).toEqual({ value: { errorCode: 403, errorMessage: '密钥无效' } });
  });

  it('answers 403 when the credentials travel in the query, even if they are right', async () => {
    const query = `?appKey=${encodeURIComponent(sandbox.appKey)}&appSecurity=${encodeURIComponent(sandbox.appSecurity)}`;
    const answer = await call(`${sandbox.baseUrl}${TOKEN_PATH}${query}`, {
      method: 'POST',
      body: JSON.stringify({ appKey: sandbox.appKey, appSecurity: sandbox.appSecurity }),
    });

    expect(answer.status).toBe(403);
  });

  it('honours appKey/appSecurity/tokenTtlMs options', async () => {
    const custom = await startEkuaibaoSandbox({
      appKey: 'k1',
      appSecurity: 's1',
      tokenTtlMs: 1000,
      now: () => 5,
    });
    try {
      const answer = await call(`${custom.baseUrl}${TOKEN_PATH}`, {
        method: 'POST',
        body: JSON.stringify({ appKey: 'k1', appSecurity: 's1' }),
      });
      expect(JSON.parse(answer.text).value.expireTime).toBe(1005);
    } finally {
      await custom.close();
    }
  });

  it('refuses a data call without a token, with an unknown token, and with an expired one', async () => {
    const token = await getToken(sandbox);
    const good = await call(withToken(sandbox, LIST_PATH, token));
    expect(good.status).toBe(200);

    const missing = await call(`${sandbox.baseUrl}${LIST_PATH}`);
    const unknown = await call(withToken(sandbox, LIST_PATH, 'ID01nope:nope'));
    clock += 2 * 60 * 60 * 1000;
    const expired = await call(withToken(sandbox, LIST_PATH, token));

    for (const answer of [missing, unknown, expired]) {
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.text)).toMatchObject({ errorCode: 403, errorMessage: '未授权' });
    }
  });

  it('refuses every token issued before revokeTokens() and accepts new ones', async () => {
    const old = await getToken(sandbox);
    sandbox.revokeTokens();
    const fresh = await getToken(sandbox);

    expect((await call(withToken(sandbox, LIST_PATH, old))).status).toBe(403);
    expect((await call(withToken(sandbox, LIST_PATH, fresh))).status).toBe(200);
  });

  it('does not revoke older tokens when a new one is fetched', async () => {
    const first = await getToken(sandbox);
    await getToken(sandbox);

    expect((await call(withToken(sandbox, LIST_PATH, first))).status).toBe(200);
  });

  it('swaps a live token for a new pair on refreshToken, and refuses an expired or mismatched one', async () => {
    const issue = async () =>
      JSON.parse(
        (
          await call(`${sandbox.baseUrl}${TOKEN_PATH}`, {
            method: 'POST',
            body: JSON.stringify({ appKey: sandbox.appKey, appSecurity: sandbox.appSecurity }),
          })
        ).text,
      ).value as { accessToken: string; refreshToken: string };
    const refresh = (t: { accessToken: string; refreshToken: string }) =>
      call(
        `${sandbox.baseUrl}/api/openapi/v2/auth/refreshToken?accessToken=${encodeURIComponent(t.accessToken)}` +
          `&refreshToken=${encodeURIComponent(t.refreshToken)}&powerCode=219904`,
        { method: 'POST' },
      );
    const first = await issue();

    const swapped = await refresh(first);
    const next = JSON.parse(swapped.text).value;

    expect(swapped.status).toBe(200);
    expect(next.accessToken).not.toBe(first.accessToken);
    expect((await call(withToken(sandbox, LIST_PATH, first.accessToken))).status).toBe(403);
    expect((await call(withToken(sandbox, LIST_PATH, next.accessToken))).status).toBe(200);
    expect((await refresh({ accessToken: next.accessToken, refreshToken: first.refreshToken })).status).toBe(
      403,
    );
    clock += 3 * 60 * 60 * 1000;
    expect((await refresh(next)).status).toBe(403);
    expect(sandbox.stats.refreshTokenCalls).toBe(3);
  });

  it('answers the tenant location with its own base URL', async () => {
    const answer = await call(`${sandbox.baseUrl}/api/openapi/v2/location?corpId=sandboxCorp0001`);
    expect(JSON.parse(answer.text)).toEqual({ value: `${sandbox.baseUrl}/` });
  });

  it('answers 404 for an unknown path and 405 for a wrong method', async () => {
    const token = await getToken(sandbox);
    expect((await call(`${sandbox.baseUrl}/api/openapi/v9/nothing`)).status).toBe(404);
    expect((await call(`${sandbox.baseUrl}${TOKEN_PATH}`)).status).toBe(405);
    expect((await call(withToken(sandbox, '/api/openapi/v2/attachment/downloadurls', token))).status).toBe(
      405,
    );
  });
});
