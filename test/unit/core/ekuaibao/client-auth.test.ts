import { afterEach, describe, expect, it } from 'vitest';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../../../functions/core/ekuaibao/client.js';
import { EkuaibaoAuthError } from '../../../../functions/core/errors.js';
import type { EkuaibaoCredentials, LogFields, Logger } from '../../../../functions/core/ports.js';
import {
  answerAll,
  DOWNLOAD_URLS_PATH,
  type FakeEkb,
  type Handler,
  sendJson,
  sleepMs,
  startFakeEkb,
  TOKEN_PATH,
} from './fake-ekb-server.js';

const HOUR = 3_600_000;
const SECRET = 'app-security-SECRET-xyz';
const CREDS = { appKey: 'key-1', appSecurity: SECRET };

let server: FakeEkb | undefined;
let client: EkuaibaoClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

/**
 * A 合思 stand-in that issues T1, T2, ... and refuses data calls whose token is in `refused` (or every call
 * when `refuseAll`). `clock` is the shared epoch-ms clock for expireTime.
 */
function tokenServer(state: {
  clock: () => number;
  refused?: Set<string>;
  refuseAll?: number;
  refusedStatus?: number;
  accept?: EkuaibaoCredentials;
  tokenDelayMs?: number;
  errorBody?: (token: string) => string;
}): Handler {
  let n = 0;
  return async (req, res) => {
    if (req.path === TOKEN_PATH) {
      if (state.tokenDelayMs) await sleepMs(state.tokenDelayMs);
      const body = req.body as EkuaibaoCredentials;
      const accept = state.accept ?? CREDS;
      if (body.appKey !== accept.appKey || body.appSecurity !== accept.appSecurity) {
        sendJson(res, 403, { value: { errorCode: 403, errorMessage: '密钥无效' } });
        return;
      }
      n++;
      sendJson(res, 200, { value: { accessToken: `ID01x:T${n}`, expireTime: state.clock() + 2 * HOUR } });
      return;
    }
    const token = req.query.get('accessToken') ?? '';
    if (state.refuseAll || state.refused?.has(token)) {
      sendJson(
        res,
        state.refuseAll ?? state.refusedStatus ?? 403,
        state.errorBody?.(token) ?? { errorCode: 403, errorMessage: '未授权' },
      );
      return;
    }
    sendJson(res, 200, answerAll(req.body));
  };
}

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const make = (base: LogFields): Logger => {
    const emit =
      (level: string) =>
      (message: string, fields?: LogFields): void => {
        lines.push(JSON.stringify({ level, message, ...base, ...fields }));
      };
    return {
      debug: emit('debug'),
      info: emit('info'),
      warn: emit('warn'),
      error: emit('error'),
      child: (f) => make({ ...base, ...f }),
    };
  };
  return { logger: make({}), lines };
}

const ref = { id: 'f1', key: 'openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-a.pdf' };

describe('token handling', () => {
  it('caches the token until 5 minutes before expireTime (injected clock)', async () => {
    let clock = 1_700_000_000_000;
    server = await startFakeEkb(tokenServer({ clock: () => clock }));
    client = createEkuaibaoClient({ baseUrl: server.baseUrl, credentials: () => CREDS, now: () => clock });
    expect(await client.getAccessToken()).toBe('ID01x:T1');
    clock += 2 * HOUR - 5 * 60_000 - 1;
    expect(await client.getAccessToken()).toBe('ID01x:T1');
    clock += 1;
    expect(await client.getAccessToken()).toBe('ID01x:T2');
    expect(server.count(TOKEN_PATH)).toBe(2);
  });

  it.each([401, 403])('drops a token refused with %i, fetches once and retries once', async (status) => {
    server = await startFakeEkb(
      tokenServer({ clock: Date.now, refused: new Set(['ID01x:T1']), refusedStatus: status }),
    );
    client = createEkuaibaoClient({ baseUrl: server.baseUrl, credentials: () => CREDS });
    const [r] = await client.resolveDownloadUrls([ref]);
    expect(r?.status).toBe('resolved');
    expect(server.count(TOKEN_PATH)).toBe(2);
    expect(server.count(DOWNLOAD_URLS_PATH)).toBe(2);
    expect(
      server.requests.filter((q) => q.path === DOWNLOAD_URLS_PATH).map((q) => q.query.get('accessToken')),
    ).toEqual(['ID01x:T1', 'ID01x:T2']);
    expect(client.stats.authRetries).toBe(1);
  });

  it('gives up with EkuaibaoAuthError when a fresh token is refused too (no endless retries)', async () => {
    server = await startFakeEkb(tokenServer({ clock: Date.now, refuseAll: 403 }));
    client = createEkuaibaoClient({ baseUrl: server.baseUrl, credentials: () => CREDS });
    const err = await client.resolveDownloadUrls([ref]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EkuaibaoAuthError);
    expect((err as EkuaibaoAuthError).code).toBe('ekuaibao_auth');
    expect((err as Error).message).toContain('未授权');
    expect(server.count(TOKEN_PATH)).toBe(2);
    expect(server.count(DOWNLOAD_URLS_PATH)).toBe(2);
  });

  it('parallel calls refused with the same token share one new token', async () => {
    const refused = new Set(['ID01x:T1']);
    server = await startFakeEkb(tokenServer({ clock: Date.now, refused, tokenDelayMs: 30 }));
    client = createEkuaibaoClient({ baseUrl: server.baseUrl, credentials: () => CREDS });
    const out = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client!.resolveDownloadUrls([{ id: `x${i}`, key: 'k.pdf' }])),
    );
    expect(out.flat().every((r) => r.status === 'resolved')).toBe(true);
    expect(server.count(TOKEN_PATH)).toBe(2);
    expect(server.count(DOWNLOAD_URLS_PATH)).toBe(20);
  });

  it('reports bad credentials as EkuaibaoAuthError with the vendor reason, not the secret', async () => {
    server = await startFakeEkb(
      tokenServer({ clock: Date.now, accept: { appKey: 'key-1', appSecurity: 'other' } }),
    );
    client = createEkuaibaoClient({ baseUrl: server.baseUrl, credentials: () => CREDS });
    const err = (await client.getAccessToken().catch((e: unknown) => e)) as EkuaibaoAuthError;
    expect(err).toBeInstanceOf(EkuaibaoAuthError);
    expect(err.message).toContain('密钥无效');
    expect(err.message).toContain('HTTP 403');
    expect(err.message).not.toContain(SECRET);
    expect(JSON.stringify(err.details)).not.toContain(SECRET);
    expect(server.count(TOKEN_PATH)).toBe(1);
  });

  it('re-reads rotated credentials once after a refusal', async () => {
    const rotated = { appKey: 'key-1', appSecurity: 'rotated-secret' };
    let current: EkuaibaoCredentials = CREDS;
    let invalidations = 0;
    server = await startFakeEkb(tokenServer({ clock: Date.now, accept: rotated }));
    client = createEkuaibaoClient({
      baseUrl: server.baseUrl,
      credentials: async () => current,
      onCredentialsRejected: () => {
        invalidations++;
        current = rotated;
      },
    });
    expect(await client.getAccessToken()).toBe('ID01x:T1');
    expect(invalidations).toBe(1);
    expect(server.count(TOKEN_PATH)).toBe(2);
  });

  it('does not repeat the token call when the re-read credentials are unchanged', async () => {
    server = await startFakeEkb(tokenServer({ clock: Date.now, accept: { appKey: 'x', appSecurity: 'y' } }));
    let invalidations = 0;
    client = createEkuaibaoClient({
      baseUrl: server.baseUrl,
      credentials: () => CREDS,
      onCredentialsRejected: () => invalidations++,
    });
    await expect(client.getAccessToken()).rejects.toBeInstanceOf(EkuaibaoAuthError);
    expect(invalidations).toBe(1);
    expect(server.count(TOKEN_PATH)).toBe(1);
  });
});

describe('secrets', () => {
  it('never puts the token, the app secret or a signed query in errors or logs', async () => {
    const echo = (token: string): string =>
      JSON.stringify({
        errorCode: 400,
        errorMessage: `bad request token=${token} raw ${token} enc ${encodeURIComponent(token)} secret ${SECRET} https://oss.example.test/a?Signature=SIGVALUE&accessToken=${token}`,
      });
    server = await startFakeEkb(tokenServer({ clock: Date.now, refuseAll: 400, errorBody: echo }));
    const { logger, lines } = capture();
    client = createEkuaibaoClient({ baseUrl: server.baseUrl, credentials: () => CREDS, logger });
    const err = (await client.resolveDownloadUrls([ref]).catch((e: unknown) => e)) as Error & {
      code: string;
      details: unknown;
    };
    expect(err.code).toBe('ekuaibao_http_400');
    const everything = [err.message, JSON.stringify(err.details), String(err.cause ?? ''), ...lines].join(
      '\n',
    );
    for (const secret of ['ID01x:T1', 'ID01x%3AT1', SECRET, 'SIGVALUE']) {
      expect(everything).not.toContain(secret);
    }
    expect(err.message).toContain('[redacted]');
    expect(lines.some((l) => l.includes('"route":"downloadurls"') && l.includes('"status":400'))).toBe(true);
    expect(lines.join('\n')).not.toContain('?');
  });

  it('logs one debug line per upstream call with route, status, ms and attempt', async () => {
    server = await startFakeEkb(tokenServer({ clock: Date.now }));
    const { logger, lines } = capture();
    client = createEkuaibaoClient({ baseUrl: server.baseUrl, credentials: () => CREDS, logger });
    await client.resolveDownloadUrls([ref]);
    const calls = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === 'ekuaibao call');
    expect(calls.map((c) => c.route)).toEqual(['getAccessToken', 'downloadurls']);
    for (const c of calls) {
      expect(c).toMatchObject({ level: 'debug', status: 200, attempt: 1 });
      expect(typeof c.ms).toBe('number');
    }
  });
});
