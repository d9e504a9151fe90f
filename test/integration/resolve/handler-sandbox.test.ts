/**
 * The resolve handler wired exactly as deployed (config → the composition root → real 合思 client) against the
 * sandbox over real sockets on 127.0.0.1: the vendor's curl example, batching, not-found reporting, upstream
 * failures and bad credentials, with every response body and log line checked for secrets.
 */
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compose } from '../../../functions/compose/composition.js';
import { resolveHandlerDeps } from '../../../functions/compose/ekuaibao.js';
import { loadConfig } from '../../../functions/config.js';
import type { EkuaibaoClient } from '../../../functions/core/ekuaibao/client.js';
import { createHandler, type ResolveEvent } from '../../../functions/resolve/handler.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import {
  captureLogger,
  eventWithBody,
  lambdaContext,
  loadEvent,
  VENDOR_REFS,
} from '../../unit/resolve/fixtures.js';

let sandbox: EkuaibaoSandbox;
let client: EkuaibaoClient | undefined;

beforeEach(async () => {
  sandbox = await startEkuaibaoSandbox({ files: [], forms: [] });
  sandbox.addFile({
    id: VENDOR_REFS[0]!.id,
    key: VENDOR_REFS[0]!.key,
    fileName: 'kotlin简介.docx',
    size: 23_456,
  });
  sandbox.addFile({
    id: VENDOR_REFS[1]!.id,
    key: VENDOR_REFS[1]!.key,
    fileName: '128163bbba83.jpg',
    size: 2_985_928,
  });
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  await sandbox.close();
});

/** The production wiring with short timeouts and two tries, so fault tests finish in about a second. */
function wire(env: Record<string, string> = {}) {
  const config = loadConfig({
    EKB_BASE_URL: sandbox.baseUrl,
    EKB_APP_KEY: sandbox.appKey,
    EKB_APP_SECURITY: sandbox.appSecurity,
    EKB_REQUEST_TIMEOUT_MS: '400',
    EKB_CONNECT_TIMEOUT_MS: '400',
    EKB_MAX_ATTEMPTS: '2',
    ...env,
  });
  const log = captureLogger();
  const deps = resolveHandlerDeps(compose(config, { logger: log.logger }));
  client = deps.resolver as EkuaibaoClient;
  const handler = createHandler(deps);
  const call = async (event: ResolveEvent, remainingMs = 29_000) => {
    const res = await handler(event, lambdaContext(remainingMs));
    return { ...res, json: JSON.parse(res.body) as unknown };
  };
  return { call, ...log, client };
}

/** Nothing secret in a text: no URL query, no signature, no OSS authorization, no token, no app secret. */
async function expectNoSecrets(texts: string[], c: EkuaibaoClient | undefined, extra: string[] = []) {
  const all = texts.join('\n');
  expect(all).not.toMatch(/Expires=\d|Signature=[^[]|OSS [A-Za-z0-9]+:[A-Za-z0-9+/=]{8}/);
  expect(all).not.toContain(sandbox.appSecurity);
  for (const s of extra) expect(all).not.toContain(s);
  if (c) {
    const token = await c.getAccessToken().catch(() => undefined);
    if (token) expect(all).not.toContain(token);
  }
}

const sha256 = async (url: string, headers?: Record<string, string>): Promise<string> => {
  const res = await request(url, headers ? { headers } : {});
  expect(res.statusCode).toBe(200);
  const hash = createHash('sha256');
  for await (const chunk of res.body) hash.update(chunk as Buffer);
  return hash.digest('hex');
};

describe('resolve handler against the sandbox', () => {
  it('answers the vendor curl example in the vendor shape, with working URLs and DP: headers', async () => {
    const { call, lines, client: c } = wire();
    const res = await call(loadEvent());
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-ekb-not-found-count']).toBe('0');
    const items = res.json as Array<Record<string, unknown>>;
    expect(items.map((i) => [i.id, i.key])).toEqual(VENDOR_REFS.map((r) => [r.id, r.key]));
    const docx = items[0] as { url: string; thumbUrl: string; fileName: string; expiresAt: string };
    const dp = items[1] as Record<string, unknown>;
    expect(docx.url.startsWith(`${sandbox.baseUrl}/`)).toBe(true);
    expect(docx.thumbUrl).toEqual(expect.stringContaining('Expires='));
    expect(docx.fileName).toBe('kotlin简介.docx');
    expect(docx).not.toHaveProperty('headers');
    const expiresIn = Date.parse(docx.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(900_000);
    expect(expiresIn).toBeLessThanOrEqual(1_000_000);
    expect(dp).toMatchObject({
      fileName: '128163bbba83.jpg',
      fileType: 'jpg',
      fileSize: 2985928,
      thumbUrl: dp.url,
    });
    const headers = dp.headers as Record<string, string>;
    expect(Object.keys(headers).sort()).toEqual(['Authorization', 'x-oss-date']);
    // The answer is usable as is: both downloads succeed and carry the files' bytes.
    expect(await sha256(docx.url)).toBe(await sandbox.sha256(VENDOR_REFS[0]!.id));
    expect(await sha256(dp.url as string, headers)).toBe(await sandbox.sha256(VENDOR_REFS[1]!.id));
    expect(sandbox.stats.downloadUrlCalls).toBe(1);
    expect(sandbox.stats.tokenCalls).toBe(1);
    await expectNoSecrets(lines, c);
  });

  it('answers the base64-encoded event the same way', async () => {
    const { call } = wire();
    const res = await call(loadEvent('api-gateway-v2-download-urls-base64'));
    expect(res.statusCode).toBe(200);
    expect((res.json as { id: string }[]).map((i) => i.id)).toEqual(VENDOR_REFS.map((r) => r.id));
  });

  it('resolves 250 refs with exactly 3 downloadurls calls and answers all in request order', async () => {
    const refs = Array.from({ length: 250 }, (_, i) => {
      const hex = i.toString(16).padStart(12, '0');
      return { id: `gen${i}`, key: `openapi00000000-0000-4000-8000-${hex}-文件 ${i}.pdf` };
    });
    for (const [i, r] of refs.entries()) sandbox.addFile({ ...r, fileName: `文件 ${i}.pdf`, size: 100 + i });
    const { call, entries } = wire();
    const res = await call(eventWithBody(JSON.stringify(refs)));
    expect(res.statusCode).toBe(200);
    expect((res.json as { id: string }[]).map((i) => i.id)).toEqual(refs.map((r) => r.id));
    expect(sandbox.stats.downloadUrlCalls).toBe(3);
    expect(sandbox.stats.maxItemsPerCall).toBe(100);
    expect(sandbox.stats.tokenCalls).toBe(1);
    expect(entries().find((e) => e.message === 'resolve request')).toMatchObject({
      refs: 250,
      found: 250,
      notFound: 0,
    });
  });

  it('reports refs the sandbox does not know: left out of the vendor array, listed with report=full', async () => {
    const { call } = wire();
    const body = JSON.stringify([
      { id: 'nope', key: 'openapi00000000-0000-4000-8000-000000000000-missing.pdf', expiration: 1000 },
      { ...VENDOR_REFS[0], expiration: 1000 },
      { id: VENDOR_REFS[1]!.id, key: 'DP:{"fileId":"1","fileName":"other.jpg"}' },
    ]);
    const vendor = await call(eventWithBody(body));
    expect(vendor.statusCode).toBe(200);
    expect((vendor.json as { id: string }[]).map((i) => i.id)).toEqual([VENDOR_REFS[0]!.id]);
    expect(vendor.headers['x-ekb-not-found-count']).toBe('2');
    const full = await call(eventWithBody(body, { query: { report: 'full' } }));
    const json = full.json as { items: unknown[]; notFound: unknown[] };
    expect(json.items).toHaveLength(1);
    expect(json.notFound).toEqual([
      { index: 0, id: 'nope', key: 'openapi00000000-0000-4000-8000-000000000000-missing.pdf' },
      { index: 2, id: VENDOR_REFS[1]!.id, key: 'DP:{"fileId":"1","fileName":"other.jpg"}' },
    ]);
  });

  it('answers 502 with a safe body after a storm of 5xx', async () => {
    sandbox.inject({
      kind: 'status',
      route: 'downloadurls',
      status: 500,
      body: JSON.stringify({
        errorCode: 500,
        errorMessage: `内部错误 ${sandbox.baseUrl}/x?Signature=leak123&Expires=1`,
      }),
      times: 10,
    });
    const { call, lines, client: c } = wire();
    const res = await call(loadEvent());
    expect(res.statusCode).toBe(502);
    expect(res.json).toEqual({
      error: {
        code: 'upstream_error',
        message: 'the 合思 Open API failed to answer; try again later',
        requestId: 'MJ3sNg_4IAMEV5w=',
      },
    });
    // Two tries (EKB_MAX_ATTEMPTS=2), each answered by the injected fault.
    expect(sandbox.stats.faultsFired.status).toBe(2);
    expect(lines.some((l) => l.includes('"level":"error"') && l.includes('ekuaibao_http_500'))).toBe(true);
    await expectNoSecrets([res.body, ...lines], c, ['leak123']);
  });

  it('answers 503 when 合思 keeps throttling', async () => {
    sandbox.inject({ kind: 'status', route: 'downloadurls', status: 429, retryAfterSeconds: 0, times: 10 });
    const { call } = wire();
    const res = await call(loadEvent());
    expect(res.statusCode).toBe(503);
    expect((res.json as { error: { code: string } }).error.code).toBe('upstream_unavailable');
  });

  it('answers 504 with a safe body when 合思 does not answer in time', async () => {
    sandbox.inject({ kind: 'slowHeaders', route: 'downloadurls', delayMs: 3_000, times: 10 });
    const { call, lines, client: c } = wire();
    const res = await call(loadEvent());
    expect(res.statusCode).toBe(504);
    expect((res.json as { error: { code: string } }).error.code).toBe('upstream_timeout');
    expect(res.body).not.toContain(sandbox.baseUrl);
    await expectNoSecrets([res.body, ...lines], c);
  });

  it('answers 502 with a safe message for bad credentials, and never shows the secret', async () => {
    const wrong = 'wrong-secret-5f2c9a7e';
    const { call, lines } = wire({ EKB_APP_SECURITY: wrong });
    const res = await call(loadEvent());
    expect(res.statusCode).toBe(502);
    expect(res.json).toEqual({
      error: {
        code: 'upstream_auth',
        message: '合思 refused this service’s credentials; an operator must check them',
        requestId: 'MJ3sNg_4IAMEV5w=',
      },
    });
    expect(sandbox.stats.downloadUrlCalls).toBe(0);
    expect(lines.some((l) => l.includes('"level":"error"') && l.includes('ekuaibao_auth'))).toBe(true);
    await expectNoSecrets([res.body, ...lines], undefined, [wrong]);
  });

  it('answers 504 when the Lambda deadline comes first: the signal reaches the real client', async () => {
    sandbox.inject({ kind: 'slowHeaders', route: 'downloadurls', delayMs: 5_000, times: 10 });
    const { call } = wire({ EKB_REQUEST_TIMEOUT_MS: '10000' });
    // 2 s left, 1.5 s kept back to answer: 0.5 s for 合思, far less than the client's own 10 s timeout.
    const res = await call(loadEvent(), 2_000);
    expect(res.statusCode).toBe(504);
    // 'timeout' is our deadline; the client's own per-attempt timeout would have said 'upstream_timeout'.
    expect((res.json as { error: { code: string } }).error.code).toBe('timeout');
  });

  it('accepts the documented upper bound of 5,000 refs and answers 413 above it', async () => {
    const refs = Array.from({ length: 5_001 }, (_, i) => {
      const hex = i.toString(16).padStart(12, '0');
      return { id: `big${i}`, key: `openapi00000000-0000-4000-8000-${hex}-f${i}.txt` };
    });
    for (const r of refs) sandbox.addFile({ ...r, fileName: 'f.txt', size: 10 });
    // Counts calls, not timeouts: a slow machine must not turn one 100-ref call into a timeout and a retry.
    const { call } = wire({ EKB_REQUEST_TIMEOUT_MS: '20000' });
    const over = await call(eventWithBody(JSON.stringify(refs)));
    expect(over.statusCode).toBe(413);
    expect(sandbox.stats.downloadUrlCalls).toBe(0);
    const atLimit = await call(eventWithBody(JSON.stringify(refs.slice(0, 5_000))));
    expect(atLimit.statusCode).toBe(200);
    expect((atLimit.json as unknown[]).length).toBe(5_000);
    expect(sandbox.stats.downloadUrlCalls).toBe(50);
  });
});
