import { afterEach, describe, expect, it } from 'vitest';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../../../functions/core/ekuaibao/client.js';
import { ValidationError } from '../../../../functions/core/errors.js';
import { DP_SIGNATURE_TTL_MS } from '../../../../functions/core/model/resolution.js';
import {
  answerAll,
  DOWNLOAD_URLS_PATH,
  type FakeEkb,
  type Handler,
  sendJson,
  sleepMs,
  startFakeEkb,
  TOKEN_PATH,
  urlFor,
} from './fake-ekb-server.js';

const NOW = 1_717_468_000_000; // 2024-06-04T02:26:40Z
const CREDS = { appKey: 'app-key-1', appSecurity: 'app-security-SECRET-1' };
const DP_KEY =
  'DP:{"fileId":"136634437985","fileName":"128163bbba83.jpg","fileSize":2985928,"fileType":"jpg","spaceId":"7215288789"}';

let server: FakeEkb | undefined;
let client: EkuaibaoClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

/** Token and downloadurls routes; `urls` decides what a downloadurls body gets back. */
function handler(urls: (body: unknown) => unknown[] = (b) => answerAll(b, NOW / 1000), delayMs = 0): Handler {
  return async (req, res) => {
    if (req.path === TOKEN_PATH) {
      sendJson(res, 200, { value: { accessToken: 'ID01x:TOKEN', expireTime: NOW + 7_200_000 } });
      return;
    }
    if (req.path === DOWNLOAD_URLS_PATH) {
      if (delayMs > 0) await sleepMs(delayMs);
      sendJson(res, 200, urls(req.body));
      return;
    }
    sendJson(res, 404, { errorMessage: 'no route' });
  };
}

async function setup(h: Handler, extra: Partial<Parameters<typeof createEkuaibaoClient>[0]> = {}) {
  server = await startFakeEkb(h);
  client = createEkuaibaoClient({
    baseUrl: server.baseUrl,
    credentials: () => CREDS,
    now: () => NOW,
    ...extra,
  });
  return { server, client };
}

const refs = (n: number, prefix = 'f') =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    key: `openapi0306c2d1-7a5b-4e96-8172-60c5ee0f${String(i).padStart(4, '0')}-文件 ${i}.pdf`,
  }));

describe('resolveDownloadUrls', () => {
  it('sends the token as a query parameter and the refs as a bare JSON array', async () => {
    const { server, client } = await setup(handler());
    const [r] = await client.resolveDownloadUrls(refs(1), { expiration: 600 });
    const call = server.requests.find((q) => q.path === DOWNLOAD_URLS_PATH)!;
    expect(call.method).toBe('POST');
    expect(call.query.get('accessToken')).toBe('ID01x:TOKEN');
    expect(call.body).toEqual([{ id: 'f0', key: refs(1)[0]!.key, expiration: 600 }]);
    const tokenCall = server.requests.find((q) => q.path === TOKEN_PATH)!;
    expect(tokenCall.method).toBe('POST');
    expect(tokenCall.body).toEqual(CREDS);
    expect([...tokenCall.query.keys()]).toEqual([]);
    expect(r).toMatchObject({
      status: 'resolved',
      id: 'f0',
      fileName: '文件 0.pdf',
      expiresAt: NOW + 600_000,
    });
  });

  it('splits 250 refs into calls of at most 100 and answers every position', async () => {
    const { server, client } = await setup(handler());
    const input = refs(250);
    const out = await client.resolveDownloadUrls(input);
    const sizes = server.requests
      .filter((q) => q.path === DOWNLOAD_URLS_PATH)
      .map((q) => (q.body as unknown[]).length)
      .sort((a, b) => b - a);
    expect(sizes).toEqual([100, 100, 50]);
    expect(out.map((r) => [r.id, r.key])).toEqual(input.map((r) => [r.id, r.key]));
    expect(out.every((r) => r.status === 'resolved')).toBe(true);
    expect(client.stats.downloadUrlCalls).toBe(3);
  });

  it('sends exact duplicates once but answers each input position', async () => {
    const { server, client } = await setup(handler());
    const [a, b] = refs(2);
    const sameIdOtherKey = { id: a!.id, key: 'other-key.pdf' };
    const input = [a!, b!, a!, sameIdOtherKey, a!];
    const out = await client.resolveDownloadUrls(input);
    const sent = server.requests
      .filter((q) => q.path === DOWNLOAD_URLS_PATH)
      .flatMap((q) => q.body as unknown[]);
    expect(sent).toHaveLength(3);
    expect(out.map((r) => `${r.id}|${r.key}`)).toEqual(input.map((r) => `${r.id}|${r.key}`));
    expect(out[0]).toEqual(out[2]);
    expect(out[0]).not.toBe(out[2]);
  });

  it('matches answers by id+key whatever their order, ignoring items nobody asked for', async () => {
    const shuffle = (body: unknown): unknown[] => {
      const items = answerAll(body, NOW / 1000) as { id: string; key: string; url: string }[];
      const out = [...items].reverse();
      [out[0], out[3]] = [out[3]!, out[0]!];
      // an item we did not ask for, and one with our id but another key: both must be ignored
      out.push({ id: 'stranger', key: 'k', url: 'http://oss.example.test/stranger' });
      out.push({ id: items[0]!.id, key: 'not-the-key', url: 'http://oss.example.test/wrong' });
      return out;
    };
    const { client } = await setup(handler(shuffle));
    const input = refs(7);
    const out = await client.resolveDownloadUrls(input);
    for (const [i, r] of out.entries()) {
      expect(r.status).toBe('resolved');
      expect(r.id).toBe(input[i]!.id);
      if (r.status === 'resolved') expect(r.url).toContain(`/${input[i]!.id}?`);
    }
  });

  it('reports refs left out of the answer as not_found', async () => {
    const dropOdd = (body: unknown): unknown[] =>
      (answerAll(body, NOW / 1000) as { id: string }[]).filter((x) => Number(x.id.slice(1)) % 2 === 0);
    const { client } = await setup(handler(dropOdd));
    const out = await client.resolveDownloadUrls(refs(4));
    expect(out.map((r) => r.status)).toEqual(['resolved', 'not_found', 'resolved', 'not_found']);
    expect(out[1]).toEqual({ status: 'not_found', id: 'f1', key: refs(4)[1]!.key });
  });

  it('answers [] with every ref not_found', async () => {
    const { client } = await setup(handler(() => []));
    const out = await client.resolveDownloadUrls(refs(3));
    expect(out.map((r) => r.status)).toEqual(['not_found', 'not_found', 'not_found']);
  });

  it('parses DP: keys and keeps their download headers; expiresAt follows the signing time', async () => {
    const { client } = await setup(handler());
    const [dp, plain] = await client.resolveDownloadUrls([
      { id: '136634573449', key: DP_KEY },
      { id: 'p', key: 'scan-1599099810000-1.jpg' },
    ]);
    expect(dp).toMatchObject({
      status: 'resolved',
      fileName: '128163bbba83.jpg',
      fileType: 'jpg',
      fileSize: 2985928,
      headers: { Authorization: 'OSS LTAIabc:c2lnbmF0dXJl', 'x-oss-date': 'Tue, 04 Jun 2024 02:36:44 GMT' },
      expiresAt: Math.min(Date.parse('Tue, 04 Jun 2024 02:36:44 GMT') + DP_SIGNATURE_TTL_MS, NOW + 1_800_000),
    });
    expect(plain).toMatchObject({ status: 'resolved', expiresAt: NOW + 1_800_000 });
    expect(plain?.status === 'resolved' && plain.fileName).toBe(undefined);
  });

  it('uses the URL Expires when it is earlier than the asked-for lifetime', async () => {
    const shortLived = (body: unknown): unknown[] =>
      (body as { id: string; key: string }[]).map((x) => ({
        ...(urlFor({ ...x, expiration: 60 }, NOW / 1000) as object),
      }));
    const { client } = await setup(handler(shortLived));
    const [r] = await client.resolveDownloadUrls(refs(1), { expiration: 1800 });
    expect(r).toMatchObject({ status: 'resolved', expiresAt: NOW + 60_000 });
  });

  it('keeps at most resolveConcurrency calls in flight', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const base = handler();
    const counting: Handler = async (req, res, raw) => {
      if (req.path !== DOWNLOAD_URLS_PATH) return base(req, res, raw);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleepMs(60);
      inFlight--;
      sendJson(res, 200, answerAll(req.body, NOW / 1000));
    };
    const { client } = await setup(counting, { resolveConcurrency: 2 });
    const out = await client.resolveDownloadUrls(refs(450));
    expect(out).toHaveLength(450);
    expect(client.stats.downloadUrlCalls).toBe(5);
    expect(maxInFlight).toBe(2);
  });

  it('fetches one token for 20 parallel resolves', async () => {
    const slowToken: Handler = async (req, res, raw) => {
      if (req.path === TOKEN_PATH) await sleepMs(50);
      return handler()(req, res, raw);
    };
    const { server, client } = await setup(slowToken);
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.resolveDownloadUrls(refs(3, `p${i}-`))),
    );
    expect(all.flat().every((r) => r.status === 'resolved')).toBe(true);
    expect(server.count(TOKEN_PATH)).toBe(1);
    expect(client.stats.tokenFetches).toBe(1);
  });

  it('rejects bad input before any call, naming the field', async () => {
    const { server, client } = await setup(handler());
    await expect(client.resolveDownloadUrls(refs(1), { expiration: 1801 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(client.resolveDownloadUrls(refs(1), { expiration: 0 })).rejects.toThrow(/expiration/);
    await expect(client.resolveDownloadUrls([{ id: 'a', key: '' }])).rejects.toThrow('refs[0].key');
    expect(server.requests).toHaveLength(0);
    expect(await client.resolveDownloadUrls([])).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it('fails with ekuaibao_bad_response when the answer is not an array', async () => {
    const { client } = await setup(handler(() => ({ value: [] }) as never));
    await expect(client.resolveDownloadUrls(refs(1))).rejects.toMatchObject({
      code: 'ekuaibao_bad_response',
      status: 502,
    });
  });
});
