import { afterEach, describe, expect, it } from 'vitest';
import {
  createEkuaibaoClient,
  type EkuaibaoClient,
  type EkuaibaoClientOptions,
} from '../../../../functions/core/ekuaibao/client.js';
import { AbortedError, EkuaibaoError } from '../../../../functions/core/errors.js';
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

const CREDS = { appKey: 'k', appSecurity: 'app-secret-value' };
const REF = { id: 'f1', key: 'a.pdf' };

let server: FakeEkb | undefined;
let client: EkuaibaoClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

/** downloadurls answers with `faults` in order (one per call), then normally. */
function faulty(faults: Handler[]): Handler {
  return async (req, res, raw) => {
    if (req.path === TOKEN_PATH) {
      sendJson(res, 200, { value: { accessToken: 'ID01x:T', expireTime: Date.now() + 7_200_000 } });
      return;
    }
    const fault = faults.shift();
    if (fault) return fault(req, res, raw);
    sendJson(res, 200, answerAll(req.body));
  };
}

const status =
  (
    code: number,
    headers: Record<string, string> = {},
    body: unknown = { errorCode: code, errorMessage: 'boom' },
  ): Handler =>
  (_req, res) =>
    sendJson(res, code, body, headers);

async function setup(faults: Handler[], extra: Partial<EkuaibaoClientOptions> = {}) {
  const sleeps: number[] = [];
  server = await startFakeEkb(faulty(faults));
  client = createEkuaibaoClient({
    baseUrl: server.baseUrl,
    credentials: () => CREDS,
    // A fake sleep: backoff is recorded, not waited.
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    backoff: { baseMs: 100, maxMs: 1000 },
    ...extra,
  });
  return { server, client, sleeps };
}

describe('retry policy', () => {
  it('honours Retry-After seconds on 429 and then succeeds', async () => {
    const { client, server, sleeps } = await setup([status(429, { 'retry-after': '2' })]);
    const [r] = await client.resolveDownloadUrls([REF]);
    expect(r?.status).toBe('resolved');
    expect(sleeps).toEqual([2000]);
    expect(server.count(DOWNLOAD_URLS_PATH)).toBe(2);
    expect(client.stats.retries).toBe(1);
  });

  it('honours an HTTP-date Retry-After against the injected clock, capped at maxRetryAfterMs', async () => {
    const now = Date.parse('2025-06-23T05:00:00Z');
    const { client, sleeps } = await setup(
      [
        status(429, { 'retry-after': 'Mon, 23 Jun 2025 05:00:03 GMT' }),
        status(429, { 'retry-after': '3600' }),
      ],
      { now: () => now, backoff: { baseMs: 100, maxMs: 1000, maxRetryAfterMs: 30_000 } },
    );
    await client.resolveDownloadUrls([REF]);
    expect(sleeps).toEqual([3000, 30_000]);
  });

  it('backs off exponentially with jitter on 5xx and gives up after maxAttempts with a 502 error', async () => {
    const { client, server, sleeps } = await setup([
      status(500),
      status(502),
      status(503),
      status(504),
      status(500),
    ]);
    const err = (await client.resolveDownloadUrls([REF]).catch((e: unknown) => e)) as EkuaibaoError;
    expect(err).toBeInstanceOf(EkuaibaoError);
    expect(err.code).toBe('ekuaibao_http_504');
    expect(err.status).toBe(502);
    expect(err.retryable).toBe(true);
    expect(server.count(DOWNLOAD_URLS_PATH)).toBe(4);
    // random() = 0.5 of caps 100, 200, 400
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('answers 503 after 429 on every try', async () => {
    const { client, server } = await setup(
      Array.from({ length: 4 }, () => status(429)),
      { maxAttempts: 4 },
    );
    await expect(client.resolveDownloadUrls([REF])).rejects.toMatchObject({
      code: 'ekuaibao_http_429',
      status: 503,
    });
    expect(server.count(DOWNLOAD_URLS_PATH)).toBe(4);
  });

  it('does not retry a 4xx other than 401/403/429', async () => {
    for (const code of [400, 404, 405, 412]) {
      const { client, server, sleeps } = await setup([status(code)]);
      await expect(client.resolveDownloadUrls([REF])).rejects.toMatchObject({
        code: `ekuaibao_http_${code}`,
        retryable: false,
      });
      expect(server.count(DOWNLOAD_URLS_PATH)).toBe(1);
      expect(sleeps).toEqual([]);
      await client.close();
      await server.close();
    }
  });

  it('retries a headers timeout and maps a persistent one to ekuaibao_timeout (504)', async () => {
    const slow: Handler = async (req, res) => {
      await sleepMs(400);
      if (!res.destroyed) sendJson(res, 200, answerAll(req.body));
    };
    const { client, server } = await setup([slow], { requestTimeoutMs: 100 });
    const [r] = await client.resolveDownloadUrls([REF]);
    expect(r?.status).toBe('resolved');
    expect(server.count(DOWNLOAD_URLS_PATH)).toBe(2);

    await client.close();
    await server.close();
    const again = await setup([slow, slow], { requestTimeoutMs: 100, maxAttempts: 2 });
    await expect(again.client.resolveDownloadUrls([REF])).rejects.toMatchObject({
      code: 'ekuaibao_timeout',
      status: 504,
      retryable: true,
    });
  });

  it('retries when the body stalls after the headers', async () => {
    const stall: Handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('[{"id":');
    };
    const { client, server } = await setup([stall], { requestTimeoutMs: 100 });
    const [r] = await client.resolveDownloadUrls([REF]);
    expect(r?.status).toBe('resolved');
    expect(server.count(DOWNLOAD_URLS_PATH)).toBe(2);
  });

  it('retries a connection reset', async () => {
    const reset: Handler = (_req, _res, raw) => {
      raw.socket.destroy();
    };
    const { client, server } = await setup([reset, reset]);
    const [r] = await client.resolveDownloadUrls([REF]);
    expect(r?.status).toBe('resolved');
    expect(server.count(DOWNLOAD_URLS_PATH)).toBe(3);
  });

  it('maps a refused connection to a retryable ekuaibao_network (502) after all tries', async () => {
    const probe = await startFakeEkb(() => {});
    const deadUrl = probe.baseUrl;
    await probe.close();
    const sleeps: number[] = [];
    client = createEkuaibaoClient({
      baseUrl: deadUrl,
      credentials: () => CREDS,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      maxAttempts: 3,
    });
    await expect(client.getAccessToken()).rejects.toMatchObject({
      code: 'ekuaibao_network',
      status: 502,
      retryable: true,
    });
    expect(sleeps).toHaveLength(2);
    expect(client.stats.tokenFetches).toBe(3);
  });

  it('ends at once with AbortedError when aborted during a backoff sleep', async () => {
    const ctrl = new AbortController();
    let sleeping!: () => void;
    const asleep = new Promise<void>((r) => (sleeping = r));
    const { client, server } = await setup([status(503)], {
      sleep: () => {
        sleeping();
        return new Promise<void>(() => {}); // a backoff that would never end on its own
      },
    });
    const pending = client.resolveDownloadUrls([REF], { signal: ctrl.signal });
    await asleep;
    ctrl.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    expect(server.count(DOWNLOAD_URLS_PATH)).toBe(1);
  });

  it('stops an in-flight request when the caller aborts', async () => {
    const hang: Handler = async () => {
      await sleepMs(2_000);
    };
    const { client } = await setup([hang]);
    const ctrl = new AbortController();
    const pending = client.resolveDownloadUrls([REF], { signal: ctrl.signal });
    setTimeout(() => ctrl.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
  });

  it('fails the whole resolve when one chunk fails for good, after stopping the others', async () => {
    const { client } = await setup([status(400)], { resolveConcurrency: 1 });
    const refs = Array.from({ length: 150 }, (_, i) => ({ id: `r${i}`, key: 'k.pdf' }));
    await expect(client.resolveDownloadUrls(refs)).rejects.toMatchObject({ code: 'ekuaibao_http_400' });
    expect(client.stats.downloadUrlCalls).toBe(1);
  });
});
