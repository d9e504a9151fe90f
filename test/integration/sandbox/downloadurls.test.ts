import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoFiles } from '../../../infra/local/sandbox/demo-data.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { downloadUrls, getToken } from './sandbox-client.js';

const files = demoFiles();
const ordinary = files.filter((f) => !f.key.startsWith('DP:'));
const dp = files.filter((f) => f.key.startsWith('DP:'));
const item = (f: { id: string; key: string }, expiration = 600) => ({ id: f.id, key: f.key, expiration });

describe('sandbox downloadurls', () => {
  let sandbox: EkuaibaoSandbox;
  let token: string;

  beforeAll(async () => {
    sandbox = await startEkuaibaoSandbox();
    token = await getToken(sandbox);
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(() => sandbox.resetStats());

  it('answers every known item, in reverse order, leaving unknown ones out', async () => {
    const known = ordinary.slice(0, 3);
    const request = [
      item(known[0]!),
      { id: 'nope', key: 'nope', expiration: 60 },
      item(known[1]!),
      { id: known[2]!.id, key: `${known[2]!.key}x`, expiration: 60 },
    ];

    const { status, answers } = await downloadUrls(sandbox, token, request);

    expect(status).toBe(200);
    expect(answers.map((a) => [a.id, a.key])).toEqual([
      [known[1]!.id, known[1]!.key],
      [known[0]!.id, known[0]!.key],
    ]);
    for (const a of answers) {
      expect(a.url).toMatch(/[?&]Expires=\d+/);
      expect(a.url).toMatch(/[?&]Signature=/);
      expect(a.thumbUrl).toContain('x-oss-process=');
      expect(a.headers).toBeUndefined();
    }
  });

  it('answers [] when nothing is known', async () => {
    const { status, answers } = await downloadUrls(sandbox, token, [{ id: 'a', key: 'b', expiration: 10 }]);
    expect(status).toBe(200);
    expect(answers).toEqual([]);
  });

  it('gives DP: items Authorization and x-oss-date headers and a URL without a query signature', async () => {
    const { answers } = await downloadUrls(
      sandbox,
      token,
      dp.map((f) => item(f)),
    );

    expect(answers).toHaveLength(dp.length);
    for (const a of answers) {
      expect(a.headers?.Authorization).toMatch(/^OSS [^:]+:.+$/);
      expect(Number.isNaN(Date.parse(a.headers?.['x-oss-date'] ?? ''))).toBe(false);
      expect(new URL(a.url).search).toBe('');
    }
  });

  it('uses the requested expiration for the URL Expires', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { answers } = await downloadUrls(sandbox, token, [item(ordinary[0]!, 1800)]);
    const expires = Number(new URL(answers[0]!.url).searchParams.get('Expires'));
    expect(expires).toBeGreaterThanOrEqual(before + 1800);
    expect(expires).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1800);
  });

  it('answers 400 for more than 100 items and counts them', async () => {
    const request = Array.from({ length: 101 }, () => item(ordinary[0]!));

    const { status, text } = await downloadUrls(sandbox, token, request);

    expect(status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ errorCode: 400 });
    expect(sandbox.stats.maxItemsPerCall).toBe(101);
  });

  it('accepts exactly 100 items', async () => {
    const request = Array.from({ length: 100 }, (_, i) => item(ordinary[i % ordinary.length]!));
    const { status, answers } = await downloadUrls(sandbox, token, request);
    expect(status).toBe(200);
    expect(answers).toHaveLength(100);
    expect(sandbox.stats).toMatchObject({ downloadUrlCalls: 1, downloadUrlItems: 100, maxItemsPerCall: 100 });
  });

  it.each([0, 1801, 1.5, '60'])('answers 400 naming the item for expiration %s', async (expiration) => {
    const { status, text } = await downloadUrls(sandbox, token, [
      item(ordinary[0]!),
      { id: ordinary[1]!.id, key: ordinary[1]!.key, expiration },
    ]);
    expect(status).toBe(400);
    expect(JSON.parse(text).errorMessage).toContain('第 1 项');
  });

  it.each(['{"id":"x"}', 'not json', ''])(
    'answers 500 with a message for a body that is not an array: %s',
    async (body) => {
      const { status, text } = await downloadUrls(sandbox, token, body);
      expect(status).toBe(500);
      expect(JSON.parse(text).errorMessage).toEqual(expect.any(String));
    },
  );
});
