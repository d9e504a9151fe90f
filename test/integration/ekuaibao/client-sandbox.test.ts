/**
 * The 合思 client against the sandbox (a real HTTP emulator of the Open API on 127.0.0.1): batching, matching,
 * token handling and every fault switch the client must survive.
 */
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createEkuaibaoClient,
  type EkuaibaoClient,
  type EkuaibaoClientOptions,
} from '../../../functions/core/ekuaibao/client.js';
import { AbortedError, EkuaibaoAuthError, EkuaibaoError } from '../../../functions/core/errors.js';
import { DP_SIGNATURE_TTL_MS, type ResolvedAttachment } from '../../../functions/core/model/resolution.js';
import { demoFiles } from '../../../infra/local/sandbox/demo-data.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxFile } from '../../../infra/local/sandbox/types.js';

let sandbox: EkuaibaoSandbox;
let client: EkuaibaoClient | undefined;
let sleeps: number[];
let sandboxClock: number;

beforeEach(async () => {
  sleeps = [];
  sandboxClock = Date.now();
  sandbox = await startEkuaibaoSandbox({ now: () => sandboxClock });
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  await sandbox.close();
});

/** A client for the sandbox whose backoff is recorded, not waited (the numbers are asserted instead). */
function connect(extra: Partial<EkuaibaoClientOptions> = {}): EkuaibaoClient {
  client = createEkuaibaoClient({
    baseUrl: sandbox.baseUrl,
    credentials: () => ({ appKey: sandbox.appKey, appSecurity: sandbox.appSecurity }),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    requestTimeoutMs: 1_000,
    connectTimeoutMs: 1_000,
    ...extra,
  });
  return client;
}

const demo = demoFiles();
const demoRefs = demo.map((f) => ({ id: f.id, key: f.key }));

/** `n` generated files registered in the sandbox (ordinary openapi keys). */
function addFiles(n: number): SandboxFile[] {
  const files = Array.from({ length: n }, (_, i) => {
    const hex = i.toString(16).padStart(12, '0');
    return {
      id: `gen${i}`,
      key: `openapi00000000-0000-4000-8000-${hex}-生成 ${i}.pdf`,
      fileName: `生成 ${i}.pdf`,
      size: 100 + i,
    };
  });
  for (const f of files) sandbox.addFile(f);
  return files;
}

describe('resolveDownloadUrls against the sandbox', () => {
  it('resolves every demo file, matched by id+key although the sandbox answers in reverse order', async () => {
    const c = connect();
    const out = await c.resolveDownloadUrls(demoRefs, { expiration: 900 });
    expect(out.map((r) => [r.status, r.id, r.key])).toEqual(demoRefs.map((r) => ['resolved', r.id, r.key]));
    for (const [i, r] of out.entries()) {
      const file = demo[i]!;
      const res = r as ResolvedAttachment;
      if (file.key.startsWith('DP:')) {
        expect(res.fileName).toBe(file.fileName);
        expect(res.fileSize).toBe(file.size);
        expect(res.headers?.Authorization).toMatch(/^OSS /);
        expect(res.expiresAt).toBeLessThanOrEqual(Date.now() + DP_SIGNATURE_TTL_MS);
      } else if (file.key.startsWith('openapi')) {
        expect(res.fileName).toBe(file.fileName);
        expect(res.headers).toBeUndefined();
      } else {
        expect(res.fileName).toBeUndefined();
      }
      expect(res.expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);
    }
    expect(sandbox.stats.downloadUrlCalls).toBe(1);
  });

  it('gives URLs and DP: headers that download the right bytes', async () => {
    const c = connect();
    const dp = demo.find((f) => f.key.startsWith('DP:'))!;
    const plain = demo.find((f) => f.key.startsWith('openapi'))!;
    const out = (await c.resolveDownloadUrls(
      [dp, plain].map((f) => ({ id: f.id, key: f.key })),
    )) as ResolvedAttachment[];
    for (const [i, file] of [dp, plain].entries()) {
      const r = out[i]!;
      const res = await request(r.url, { headers: r.headers ?? {} });
      expect(res.statusCode).toBe(200);
      const hash = createHash('sha256');
      for await (const chunk of res.body) hash.update(chunk as Buffer);
      expect(hash.digest('hex')).toBe(await sandbox.sha256(file.id));
    }
  });

  it('splits 250 refs into exactly 3 downloadurls calls of at most 100', async () => {
    const files = addFiles(250);
    const c = connect();
    const out = await c.resolveDownloadUrls(files.map((f) => ({ id: f.id, key: f.key })));
    expect(sandbox.stats.downloadUrlCalls).toBe(3);
    expect(sandbox.stats.maxItemsPerCall).toBeLessThanOrEqual(100);
    expect(sandbox.stats.downloadUrlItems).toBe(250);
    expect(out.map((r) => r.id)).toEqual(files.map((f) => f.id));
    expect(out.every((r) => r.status === 'resolved' && r.fileName === `生成 ${r.id.slice(3)}.pdf`)).toBe(
      true,
    );
  });

  it('makes exactly one token call for 20 parallel resolves', async () => {
    const files = addFiles(60);
    const c = connect();
    const batches = Array.from({ length: 20 }, (_, i) =>
      files.slice(i * 3, i * 3 + 3).map((f) => ({ id: f.id, key: f.key })),
    );
    const out = await Promise.all(batches.map((b) => c.resolveDownloadUrls(b)));
    expect(out.flat().filter((r) => r.status === 'resolved')).toHaveLength(60);
    expect(sandbox.stats.tokenCalls).toBe(1);
    expect(sandbox.stats.downloadUrlCalls).toBe(20);
  });

  it('sends duplicates once and reports unknown refs as not_found', async () => {
    const c = connect();
    const known = demoRefs[0]!;
    const input = [known, { id: 'nobody', key: 'x.pdf' }, known, { id: known.id, key: 'wrong-key.pdf' }];
    const out = await c.resolveDownloadUrls(input);
    expect(out.map((r) => r.status)).toEqual(['resolved', 'not_found', 'resolved', 'not_found']);
    expect(sandbox.stats.downloadUrlItems).toBe(3);
  });
});

describe('faults', () => {
  it('honours 429 Retry-After, then succeeds', async () => {
    sandbox.inject({ kind: 'status', route: 'downloadurls', status: 429, retryAfterSeconds: 1 });
    const c = connect();
    const [r] = await c.resolveDownloadUrls(demoRefs.slice(0, 1));
    expect(r?.status).toBe('resolved');
    expect(sleeps).toEqual([1000]);
    expect(sandbox.stats.faultsFired.status).toBe(1);
    expect(c.stats.downloadUrlCalls).toBe(2);
  });

  it('answers 503 (ekuaibao_http_429) when 429 persists through every try', async () => {
    sandbox.inject({ kind: 'status', route: 'downloadurls', status: 429, retryAfterSeconds: 2, times: 10 });
    const c = connect({ maxAttempts: 3 });
    await expect(c.resolveDownloadUrls(demoRefs.slice(0, 1))).rejects.toMatchObject({
      code: 'ekuaibao_http_429',
      status: 503,
      retryable: true,
    });
    expect(sleeps).toEqual([2000, 2000]);
  });

  it('backs off on 5xx and succeeds within the attempt bound', async () => {
    sandbox.inject({ kind: 'status', route: 'downloadurls', status: 502, times: 1 });
    sandbox.inject({ kind: 'status', route: 'downloadurls', status: 500, times: 2 });
    const c = connect({ maxAttempts: 4 });
    const [r] = await c.resolveDownloadUrls(demoRefs.slice(0, 1));
    expect(r?.status).toBe('resolved');
    expect(sleeps).toHaveLength(3);
    expect(c.stats.retries).toBe(3);
  });

  it('gives up on persistent 5xx with a 502 error that keeps the vendor message', async () => {
    sandbox.inject({ kind: 'status', route: 'downloadurls', status: 500, times: 10 });
    const c = connect({ maxAttempts: 4 });
    const err = (await c.resolveDownloadUrls(demoRefs.slice(0, 1)).catch((e: unknown) => e)) as EkuaibaoError;
    expect(err).toBeInstanceOf(EkuaibaoError);
    expect(err).toMatchObject({ code: 'ekuaibao_http_500', status: 502, retryable: true });
    expect(err.message).toContain('注入的故障');
    expect(c.stats.downloadUrlCalls).toBe(4);
  });

  it('retries after slow headers time out', async () => {
    sandbox.inject({ kind: 'slowHeaders', route: 'downloadurls', delayMs: 3_000 });
    const c = connect({ requestTimeoutMs: 200 });
    const [r] = await c.resolveDownloadUrls(demoRefs.slice(0, 1));
    expect(r?.status).toBe('resolved');
    expect(sandbox.stats.faultsFired.slowHeaders).toBe(1);
    expect(c.stats.downloadUrlCalls).toBe(2);
  });

  it('maps slow headers on every try to ekuaibao_timeout (504)', async () => {
    sandbox.inject({ kind: 'slowHeaders', route: 'token', delayMs: 3_000, times: 2 });
    const c = connect({ requestTimeoutMs: 150, maxAttempts: 2 });
    await expect(c.getAccessToken()).rejects.toMatchObject({ code: 'ekuaibao_timeout', status: 504 });
  });

  it('retries connection resets, before and during the answer', async () => {
    sandbox.inject({ kind: 'reset', route: 'downloadurls', afterBytes: 0 });
    sandbox.inject({ kind: 'reset', route: 'token', afterBytes: 20 });
    const c = connect();
    const out = await c.resolveDownloadUrls(demoRefs.slice(0, 3));
    expect(out.every((r) => r.status === 'resolved')).toBe(true);
    expect(sandbox.stats.faultsFired.reset).toBe(2);
    expect(c.stats.tokenFetches).toBe(2);
    expect(c.stats.downloadUrlCalls).toBe(2);
  });

  it('fetches a new token once when tokens are revoked mid-run', async () => {
    const c = connect();
    await c.resolveDownloadUrls(demoRefs.slice(0, 2));
    sandbox.revokeTokens();
    const out = await c.resolveDownloadUrls(demoRefs.slice(2, 4));
    expect(out.every((r) => r.status === 'resolved')).toBe(true);
    expect(sandbox.stats.tokenCalls).toBe(2);
    expect(c.stats.authRetries).toBe(1);
  });

  it('survives the 403 right after a token is issued (one retry with a new token)', async () => {
    sandbox.inject({ kind: 'forbiddenAfterIssue' });
    const c = connect();
    const [r] = await c.resolveDownloadUrls(demoRefs.slice(0, 1));
    expect(r?.status).toBe('resolved');
    expect(sandbox.stats.faultsFired.forbiddenAfterIssue).toBe(1);
    expect(sandbox.stats.tokenCalls).toBe(2);
    expect(sandbox.stats.downloadUrlCalls).toBe(2);
  });

  it('refreshes a token the sandbox clock has expired', async () => {
    const c = connect();
    await c.resolveDownloadUrls(demoRefs.slice(0, 1));
    sandboxClock += 3 * 3_600_000; // the client's own clock still believes the token is good
    const [r] = await c.resolveDownloadUrls(demoRefs.slice(1, 2));
    expect(r?.status).toBe('resolved');
    expect(sandbox.stats.tokenCalls).toBe(2);
    expect(c.stats.authRetries).toBe(1);
  });

  it('renews the token before it expires when both clocks agree (no refused call)', async () => {
    const c = connect({ now: () => sandboxClock });
    await c.resolveDownloadUrls(demoRefs.slice(0, 1));
    sandboxClock += 2 * 3_600_000 - 4 * 60_000; // inside the 5-minute renewal margin
    await c.resolveDownloadUrls(demoRefs.slice(1, 2));
    expect(sandbox.stats.tokenCalls).toBe(2);
    expect(c.stats.authRetries).toBe(0);
  });

  it('reports bad credentials as EkuaibaoAuthError without the secret', async () => {
    const c = connect({ credentials: () => ({ appKey: sandbox.appKey, appSecurity: 'wrong-secret-value' }) });
    const err = (await c.resolveDownloadUrls(demoRefs.slice(0, 1)).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(EkuaibaoAuthError);
    expect(err.message).toContain('密钥无效');
    expect(err.message).not.toContain('wrong-secret-value');
    expect(sandbox.stats.tokenCalls).toBe(1);
    expect(sandbox.stats.downloadUrlCalls).toBe(0);
  });

  it('stops at once when the caller aborts during a stalled call', async () => {
    sandbox.inject({ kind: 'slowHeaders', route: 'downloadurls', delayMs: 5_000 });
    const c = connect({ requestTimeoutMs: 10_000 });
    const ctrl = new AbortController();
    const pending = c.resolveDownloadUrls(demoRefs.slice(0, 1), { signal: ctrl.signal });
    setTimeout(() => ctrl.abort(), 100);
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
  });
});
