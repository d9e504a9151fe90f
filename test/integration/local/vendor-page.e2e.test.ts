/**
 * Issue 18: the vendor's own downloadurls page (seed-attachment-download.md) works, pasted as it is, against
 * `npm start` with only the host changed: its curl body resolves both refs in the vendor's response shape, and
 * its second example ("阿里云OSS CURL") downloads the DP: file with the headers the answer carried — and is
 * refused without them, as OSS refuses it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Crc64 } from '../../../functions/core/integrity/crc64.js';
import { sha256OfContent } from '../../../infra/local/sandbox/content.js';
import { VENDOR_PAGE_FILES } from '../../../infra/local/sandbox/demo-data.js';
import { type RunningStack, startStack } from './start-stack.js';

/** The page's `--data-raw` body, byte for byte (String.raw keeps the DP: key's `\"` escapes). */
const PAGE_BODY = String.raw`[
    {
        "id": "61sbwX3DEAgk00",
        "key": "openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin简介.docx",
        "expiration": 1000
    },
    {
        "id": "136634573449",
        "key": "DP:{\"fileId\":\"136634437985\",\"fileName\":\"128163bbba83.jpg\",\"fileSize\":2985928,\"fileType\":\"jpg\",\"spaceId\":\"7215288789\"}",
        "expiration": 1000
    }
]`;
const DOCX = {
  id: '61sbwX3DEAgk00',
  key: 'openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin简介.docx',
};
const DP = {
  id: '136634573449',
  key: 'DP:{"fileId":"136634437985","fileName":"128163bbba83.jpg","fileSize":2985928,"fileType":"jpg","spaceId":"7215288789"}',
  size: 2_985_928,
};
/** The page's own signed headers, from 2024: a stale signature OSS refuses. */
const PAGE_HEADERS = {
  Authorization: 'OSS LTAIjmWpzHta71rc:89IdD/YMQm2m9kD7y2yc09lIW+A=',
  'x-oss-date': 'Tue, 04 Jun 2024 02:53:12 GMT',
};

interface Item {
  id: string;
  key: string;
  url: string;
  thumbUrl: string;
  headers?: Record<string, string>;
}

async function download(
  url: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Record<string, unknown>;
  size: number;
  sha256: string;
  crc64: string;
  text: string;
}> {
  const res = await request(url, { headers });
  const hash = createHash('sha256');
  const crc = new Crc64();
  const head: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    const b = chunk as Buffer;
    hash.update(b);
    crc.update(b);
    if (size < 4096) head.push(b);
    size += b.length;
  }
  return {
    status: res.statusCode,
    headers: res.headers,
    size,
    sha256: hash.digest('hex'),
    crc64: crc.digestDecimal(),
    text: Buffer.concat(head).toString('utf8'),
  };
}

describe("the vendor page's examples against npm start (issue 18)", () => {
  let dataDir: string;
  let stack: RunningStack;
  let items: Item[];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ekb-vendor-page-'));
    stack = await startStack(dataDir);
  });
  afterAll(async () => {
    if (stack && stack.proc.exitCode === null) {
      stack.proc.kill('SIGINT');
      const timer = setTimeout(() => stack.proc.kill('SIGKILL'), 20_000);
      await stack.exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it("answers the page's curl body, sent verbatim, with both items in the vendor's shape", async () => {
    expect(stack.output()).toContain('SANDBOX at http://127.0.0.1:');
    const res = await request(`${stack.apiUrl}/attachments/download-urls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(PAGE_BODY, 'utf8'),
    });
    expect(res.statusCode).toBe(200);
    const answer = (await res.body.json()) as Item[];

    expect(Array.isArray(answer)).toBe(true);
    expect(answer).toHaveLength(2);
    const docx = answer.find((a) => a.id === DOCX.id);
    const dp = answer.find((a) => a.id === DP.id);
    expect(docx).toMatchObject({ id: DOCX.id, key: DOCX.key, url: expect.any(String) });
    expect(docx?.thumbUrl).toEqual(expect.any(String));
    expect(docx?.headers).toBeUndefined();
    expect(new URL(docx!.url).searchParams.get('Expires')).toMatch(/^\d+$/);
    expect(new URL(docx!.url).searchParams.get('Signature')).toBeTruthy();
    expect(dp).toMatchObject({
      id: DP.id,
      key: DP.key,
      url: expect.any(String),
      thumbUrl: expect.any(String),
    });
    expect(Object.keys(dp?.headers ?? {}).sort()).toEqual(['Authorization', 'x-oss-date']);
    expect(dp?.headers?.Authorization).toMatch(/^OSS [^:\s]+:\S+$/);
    expect(new Date(dp!.headers!['x-oss-date']!).toUTCString()).toBe(dp!.headers!['x-oss-date']);
    items = answer;
  });

  it('downloads the ordinary file from its signed URL', async () => {
    const docx = items.find((a) => a.id === DOCX.id)!;
    const got = await download(docx.url);
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toBe(
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    );
    // The page does not give this file's size; the demo tenant's is in VENDOR_PAGE_FILES.
    expect(got.size).toBe(VENDOR_PAGE_FILES.docx.size);
    expect(got.headers['content-length']).toBe(String(VENDOR_PAGE_FILES.docx.size));
    expect(got.sha256).toBe(await sha256OfContent(DOCX.id, VENDOR_PAGE_FILES.docx.size));
  });

  it("downloads the DP: file as the page's second example does: the URL with the returned headers", async () => {
    const dp = items.find((a) => a.id === DP.id)!;
    // The page writes `Authorization:  OSS …` (two spaces): header values are trimmed on arrival.
    const got = await download(dp.url, {
      Authorization: ` ${dp.headers!.Authorization}`,
      'x-oss-date': ` ${dp.headers!['x-oss-date']}`,
    });
    expect(got.status).toBe(200);
    expect(got.size).toBe(DP.size);
    expect(got.headers['content-type']).toBe('image/jpeg');
    expect(got.sha256).toBe(await sha256OfContent(DP.id, DP.size));
    // As Aliyun OSS does, the answer carries the object's CRC-64 (ECMA, decimal).
    expect(got.headers['x-oss-hash-crc64ecma']).toBe(got.crc64);
  });

  it('refuses the DP: download without its headers, or with the stale ones printed on the page, as OSS does', async () => {
    const dp = items.find((a) => a.id === DP.id)!;
    const bare = await download(dp.url);
    const stale = await download(dp.url, PAGE_HEADERS);
    const onlyDate = await download(dp.url, { 'x-oss-date': dp.headers!['x-oss-date']! });

    for (const refused of [bare, stale, onlyDate]) {
      expect(refused.status).toBe(403);
      expect(refused.headers['content-type']).toBe('application/xml');
      expect(refused.text).toMatch(/<Error>\s*<Code>(AccessDenied|SignatureDoesNotMatch)<\/Code>/);
    }
    expect(bare.text).toContain('<Code>AccessDenied</Code>');
    expect(stale.text).toContain('<Code>SignatureDoesNotMatch</Code>');
  });
});
