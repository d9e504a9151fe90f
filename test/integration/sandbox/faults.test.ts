import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { demoFiles } from '../../../infra/local/sandbox/demo-data.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { call, downloadUrls, fetchHashed, getToken, withToken } from './sandbox-client.js';

const pdf = demoFiles().find(
  (f) => f.fileName.endsWith('.pdf') && !f.key.startsWith('DP:') && f.size > 20_000,
)!;
const LIST_PATH = '/api/openapi/v1.1/docs/getApplyList?type=expense&start=0&count=10';

/** Reads a body chunk by chunk; reports how many bytes arrived before it ended or failed. */
async function consume(
  body: AsyncIterable<unknown>,
): Promise<{ bytes: number; chunks: number; error?: Error }> {
  let bytes = 0;
  let chunks = 0;
  try {
    for await (const chunk of body) {
      bytes += (chunk as Buffer).length;
      chunks += 1;
    }
    return { bytes, chunks };
  } catch (error) {
    return { bytes, chunks, error: error as Error };
  }
}

describe('sandbox faults', () => {
  let sandbox: EkuaibaoSandbox;
  let token: string;
  let agent: Agent;

  const signedUrl = async (): Promise<string> => {
    const { answers } = await downloadUrls(sandbox, token, [{ id: pdf.id, key: pdf.key, expiration: 600 }]);
    return answers[0]!.url;
  };

  beforeAll(async () => {
    sandbox = await startEkuaibaoSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(async () => {
    agent = new Agent();
    sandbox.clearFaults();
    token = await getToken(sandbox);
    sandbox.resetStats();
  });
  afterEach(async () => {
    await agent.destroy();
  });

  it('answers an injected status with Retry-After for the next `times` calls, then the real answer', async () => {
    sandbox.inject({ kind: 'status', route: 'downloadurls', status: 429, retryAfterSeconds: 7, times: 2 });

    const first = await downloadUrls(sandbox, token, []);
    const second = await downloadUrls(sandbox, token, []);
    const third = await downloadUrls(sandbox, token, []);

    expect([first.status, second.status, third.status]).toEqual([429, 429, 200]);
    const raw = await (async () => {
      sandbox.inject({ kind: 'status', route: 'any', status: 503, retryAfterSeconds: 3, body: 'busy' });
      return call(withToken(sandbox, LIST_PATH, token));
    })();
    expect(raw.status).toBe(503);
    expect(raw.headers['retry-after']).toBe('3');
    expect(raw.text).toBe('busy');
    expect(sandbox.stats.faultsFired.status).toBe(3);
  });

  it('does not fire a fault aimed at another route', async () => {
    sandbox.inject({ kind: 'status', route: 'token', status: 500 });
    expect((await call(withToken(sandbox, LIST_PATH, token))).status).toBe(200);
    sandbox.clearFaults();
    expect((await call(withToken(sandbox, LIST_PATH, token))).status).toBe(200);
    expect(sandbox.stats.faultsFired).toEqual({});
  });

  it('holds the headers back for slowHeaders (a client headers timeout fires)', async () => {
    sandbox.inject({ kind: 'slowHeaders', route: 'applyList', delayMs: 1500 });

    const attempt = request(withToken(sandbox, LIST_PATH, token), { dispatcher: agent, headersTimeout: 150 });

    await expect(attempt).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(sandbox.stats.faultsFired.slowHeaders).toBe(1);
  });

  it('stalls the body after afterBytes (a client body timeout fires) and resumes after stallMs', async () => {
    const url = await signedUrl();
    sandbox.inject({ kind: 'stallBody', route: 'download', afterBytes: 1000 });

    const stalled = await request(url, { dispatcher: agent, bodyTimeout: 200 });
    const result = await consume(stalled.body);

    expect(stalled.statusCode).toBe(200);
    expect(result.bytes).toBe(1000);
    expect(result.error).toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });

    sandbox.inject({ kind: 'stallBody', route: 'download', afterBytes: 1000, stallMs: 50 });
    const resumed = await fetchHashed(url);
    expect(resumed.sha256).toBe(await sandbox.sha256(pdf.id));
  });

  it('aims stallBody at one file with fileId: other downloads pass untouched, that file stalls', async () => {
    const other = demoFiles().find((f) => f.id !== pdf.id && !f.key.startsWith('DP:') && f.size > 2000)!;
    const { answers } = await downloadUrls(sandbox, token, [
      { id: other.id, key: other.key, expiration: 600 },
      { id: pdf.id, key: pdf.key, expiration: 600 },
    ]);
    sandbox.inject({ kind: 'stallBody', route: 'download', afterBytes: 1000, fileId: pdf.id });

    // The vendor answers in its own order: find each file's URL by id.
    const urlOf = (id: string) => answers.find((a) => a.id === id)!.url;
    const untouched = await fetchHashed(urlOf(other.id));
    expect(untouched.sha256).toBe(await sandbox.sha256(other.id));
    expect(sandbox.stats.faultsFired.stallBody ?? 0).toBe(0);

    const stalled = await request(urlOf(pdf.id), { dispatcher: agent, bodyTimeout: 200 });
    const result = await consume(stalled.body);
    expect(result.bytes).toBe(1000);
    expect(result.error).toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });
    expect(sandbox.stats.faultsFired.stallBody).toBe(1);
  });

  it('throttles the body for slowBody and still delivers every byte', async () => {
    const url = await signedUrl();
    sandbox.inject({ kind: 'slowBody', route: 'download', bytesPerSecond: 100_000 });

    const started = Date.now();
    const res = await request(url, { dispatcher: agent });
    const hash = createHash('sha256');
    let chunks = 0;
    for await (const chunk of res.body) {
      hash.update(chunk as Buffer);
      chunks += 1;
    }
    const elapsed = Date.now() - started;

    expect(hash.digest('hex')).toBe(await sandbox.sha256(pdf.id));
    // A throttle cannot finish sooner than size / rate; the slack covers timer granularity.
    expect(elapsed).toBeGreaterThanOrEqual((pdf.size / 100_000) * 1000 * 0.8);
    expect(chunks).toBeGreaterThan(3);
    // The server counts a completion on 'finish', which can land just after the client read the last byte.
    await vi.waitFor(() => expect(sandbox.stats.downloadsCompleted).toBe(1));
  });

  it('truncates: full Content-Length announced, fewer bytes, premature close seen by the client', async () => {
    const url = await signedUrl();
    sandbox.inject({ kind: 'truncate', route: 'download', afterBytes: 5000 });

    const res = await request(url, { dispatcher: agent });
    const result = await consume(res.body);

    expect(res.headers['content-length']).toBe(String(pdf.size));
    expect(result.bytes).toBe(5000);
    expect(result.error).toBeInstanceOf(Error);
    expect(sandbox.stats).toMatchObject({ downloadsStarted: 1, downloadsCompleted: 0 });

    const next = await fetchHashed(url);
    expect(next.size).toBe(pdf.size);
  });

  it('resets the connection mid-body after afterBytes', async () => {
    const url = await signedUrl();
    sandbox.inject({ kind: 'reset', route: 'download', afterBytes: 3000 });

    const res = await request(url, { dispatcher: agent });
    const result = await consume(res.body);

    expect(res.statusCode).toBe(200);
    expect(result.bytes).toBeLessThan(pdf.size);
    expect(result.error).toBeInstanceOf(Error);
  });

  it('resets before any byte of the answer when afterBytes is 0, on any route', async () => {
    sandbox.inject({ kind: 'reset', route: 'any', afterBytes: 0 });

    const attempt = request(withToken(sandbox, LIST_PATH, token), { dispatcher: agent });

    await expect(attempt).rejects.toBeInstanceOf(Error);
    expect(sandbox.stats.faultsFired.reset).toBe(1);
    expect((await call(withToken(sandbox, LIST_PATH, token))).status).toBe(200);
  });

  it('cuts a JSON answer after afterBytes for reset on a data route', async () => {
    sandbox.inject({ kind: 'reset', route: 'applyList', afterBytes: 10 });

    const outcome = await request(withToken(sandbox, LIST_PATH, token), { dispatcher: agent }).then(
      (res) => consume(res.body),
      (error: Error) => ({ bytes: 0, chunks: 0, error }),
    );

    expect(outcome.bytes).toBeLessThanOrEqual(10);
    expect(outcome.error).toBeInstanceOf(Error);
  });

  it('refuses the first call of a freshly issued token once for forbiddenAfterIssue', async () => {
    sandbox.inject({ kind: 'forbiddenAfterIssue' });
    const fresh = await getToken(sandbox);

    const first = await call(withToken(sandbox, LIST_PATH, fresh));
    const retry = await call(withToken(sandbox, LIST_PATH, fresh));

    expect(first.status).toBe(403);
    expect(JSON.parse(first.text)).toMatchObject({ errorCode: 403 });
    expect(retry.status).toBe(200);
    expect(sandbox.stats.faultsFired.forbiddenAfterIssue).toBe(1);
  });

  it('answers a download 403 expired for expiredUrl, then serves it again', async () => {
    const url = await signedUrl();
    sandbox.inject({ kind: 'expiredUrl' });

    const refused = await call(url);
    const served = await fetchHashed(url);

    expect(refused.status).toBe(403);
    expect(refused.text).toContain('Request has expired');
    expect(served.status).toBe(200);
  });

  it('rejects a fault with a bad times', () => {
    expect(() => sandbox.inject({ kind: 'expiredUrl', times: 0 })).toThrow(RangeError);
  });
});
