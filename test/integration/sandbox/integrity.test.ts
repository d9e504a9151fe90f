/**
 * The sandbox's OSS-style downloads say what OSS says about the bytes (x-oss-hash-crc64ecma, Content-MD5 on a
 * switch), and its integrity faults make them lie in each way a client must catch.
 */
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Crc64, parseCrc64Header } from '../../../functions/core/integrity/crc64.js';
import { sha256OfContent } from '../../../infra/local/sandbox/content.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxFile } from '../../../infra/local/sandbox/types.js';
import { downloadUrls, getToken, type UrlAnswer } from './sandbox-client.js';

const PDF: SandboxFile = { id: 'int-pdf', key: 'openapiint-1-报告.pdf', fileName: '报告.pdf', size: 200_003 };
const PNG: SandboxFile = {
  id: 'int-png',
  key: 'int-png-1772415300000-1.png',
  fileName: 'a.png',
  size: 9_000,
};
const OLD: SandboxFile = {
  id: 'int-old',
  key: 'openapiint-2-old.pdf',
  fileName: 'old.pdf',
  size: 5_000,
  withoutCrc64: true,
};
const DP: SandboxFile = {
  id: 'int-dp',
  key: 'DP:{"fileId":"9001","fileName":"照片.jpg","fileSize":70000,"fileType":"jpg","spaceId":"1"}',
  fileName: '照片.jpg',
  size: 70_000,
};

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const res = await request(url, { headers, method });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body } satisfies Got;
}

const crcOf = (bytes: Buffer) => new Crc64().update(bytes).digestDecimal();
const md5Of = (bytes: Buffer) => createHash('md5').update(bytes).digest('base64');
const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('sandbox download integrity', () => {
  let sandbox: EkuaibaoSandbox;
  let token: string;
  const resolve = async (file: SandboxFile): Promise<UrlAnswer> => {
    const { answers } = await downloadUrls(sandbox, token, [{ id: file.id, key: file.key, expiration: 600 }]);
    expect(answers).toHaveLength(1);
    return answers[0]!;
  };

  beforeAll(async () => {
    sandbox = await startEkuaibaoSandbox({ files: [PDF, PNG, OLD, DP], forms: [] });
    token = await getToken(sandbox);
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(() => {
    sandbox.clearFaults();
    sandbox.setIntegrity({ crc64: true, contentMd5: false });
  });

  it('sends x-oss-hash-crc64ecma, the decimal CRC-64 of the bytes, and no Content-MD5 by default', async () => {
    const got = await get((await resolve(PDF)).url);

    expect(got.status).toBe(200);
    expect(got.body.length).toBe(PDF.size);
    expect(got.headers['x-oss-hash-crc64ecma']).toBe(crcOf(got.body));
    expect(parseCrc64Header(got.headers['x-oss-hash-crc64ecma'] as string)).toBeDefined();
    expect(got.headers['x-oss-hash-crc64ecma']).toBe((await sandbox.checksums(PDF.id)).crc64);
    expect(got.headers['content-md5']).toBeUndefined();
  });

  it('sends it on DP: downloads and HEAD, the whole object’s value on a range, none on a thumbnail', async () => {
    const dp = await resolve(DP);
    const whole = await get(dp.url, dp.headers);
    const head = await get(dp.url, dp.headers, 'HEAD');
    const pdfUrl = (await resolve(PDF)).url;
    const part = await get(pdfUrl, { range: 'bytes=100-199' });
    const thumb = await get((await resolve(PNG)).thumbUrl);

    expect(whole.headers['x-oss-hash-crc64ecma']).toBe(crcOf(whole.body));
    expect(head.headers['x-oss-hash-crc64ecma']).toBe(crcOf(whole.body));
    expect(part.status).toBe(206);
    expect(part.body.length).toBe(100);
    expect(part.headers['x-oss-hash-crc64ecma']).toBe((await sandbox.checksums(PDF.id)).crc64);
    expect(thumb.status).toBe(200);
    expect(thumb.headers['x-oss-hash-crc64ecma']).toBeUndefined();
  });

  it('sends Content-MD5 on whole-object answers when switched on, not on a range', async () => {
    sandbox.setIntegrity({ contentMd5: true });
    const url = (await resolve(PDF)).url;

    const whole = await get(url);
    const head = await get(url, {}, 'HEAD');
    const part = await get(url, { range: 'bytes=0-9' });

    expect(whole.headers['content-md5']).toBe(md5Of(whole.body));
    expect(head.headers['content-md5']).toBe(md5Of(whole.body));
    expect(part.headers['content-md5']).toBeUndefined();
  });

  it('sends no CRC-64 for an object uploaded before OSS computed it, nor when switched off', async () => {
    const old = await get((await resolve(OLD)).url);
    sandbox.setIntegrity({ crc64: false });
    const off = await get((await resolve(PDF)).url);

    expect(old.status).toBe(200);
    expect(old.headers['x-oss-hash-crc64ecma']).toBeUndefined();
    expect(off.headers['x-oss-hash-crc64ecma']).toBeUndefined();
  });

  it('corruptBody: one byte flipped, the right length, headers of the true bytes; the next GET is intact', async () => {
    sandbox.setIntegrity({ contentMd5: true });
    const url = (await resolve(PDF)).url;
    sandbox.inject({ kind: 'corruptBody', atByte: 12_345 });

    const bad = await get(url);
    const good = await get(url);

    expect(bad.status).toBe(200);
    expect(bad.body.length).toBe(PDF.size);
    expect(bad.headers['content-length']).toBe(String(PDF.size));
    const differing = [...bad.body.keys()].filter((i) => bad.body[i] !== good.body[i]);
    expect(differing).toEqual([12_345]);
    expect(bad.headers['x-oss-hash-crc64ecma']).not.toBe(crcOf(bad.body));
    expect(bad.headers['content-md5']).not.toBe(md5Of(bad.body));
    expect(bad.headers['x-oss-hash-crc64ecma']).toBe(crcOf(good.body));
    expect(sha256Of(good.body)).toBe(await sandbox.sha256(PDF.id));
    expect(sandbox.stats.faultsFired.corruptBody).toBe(1);
  });

  it('corruptBody flips the middle byte by default, inside a ranged GET too', async () => {
    const url = (await resolve(PDF)).url;
    const middle = Math.floor(PDF.size / 2);
    const range = { range: `bytes=${middle - 10}-${middle + 9}` };
    sandbox.inject({ kind: 'corruptBody' });

    const bad = await get(url, range);
    const good = await get(url, range);

    expect(bad.body.length).toBe(20);
    expect([...bad.body.keys()].filter((i) => bad.body[i] !== good.body[i])).toEqual([10]);
  });

  it('wrongChecksum: intact bytes under a well-formed CRC-64 (or Content-MD5) of other bytes', async () => {
    const url = (await resolve(PDF)).url;
    sandbox.inject({ kind: 'wrongChecksum' });
    const crcLie = await get(url);
    sandbox.inject({ kind: 'wrongChecksum', header: 'md5' });
    const md5Lie = await get(url);

    expect(sha256Of(crcLie.body)).toBe(await sandbox.sha256(PDF.id));
    const claimed = parseCrc64Header(crcLie.headers['x-oss-hash-crc64ecma'] as string);
    expect(claimed).toBeDefined();
    expect(claimed?.toString()).not.toBe(crcOf(crcLie.body));
    expect(md5Lie.headers['x-oss-hash-crc64ecma']).toBe(crcOf(md5Lie.body));
    expect(Buffer.from(md5Lie.headers['content-md5'] as string, 'base64')).toHaveLength(16);
    expect(md5Lie.headers['content-md5']).not.toBe(md5Of(md5Lie.body));
  });

  it('malformedChecksum: a header that is not a checksum at all', async () => {
    const url = (await resolve(PDF)).url;
    sandbox.inject({ kind: 'malformedChecksum' });
    const defaultValue = await get(url);
    sandbox.inject({ kind: 'malformedChecksum', value: '-12' });
    const negative = await get(url);
    sandbox.inject({ kind: 'malformedChecksum', header: 'md5', value: '%%%' });
    const md5 = await get(url);

    expect(defaultValue.status).toBe(200);
    expect(parseCrc64Header(defaultValue.headers['x-oss-hash-crc64ecma'] as string)).toBeUndefined();
    expect(negative.headers['x-oss-hash-crc64ecma']).toBe('-12');
    expect(md5.headers['content-md5']).toBe('%%%');
    expect(sha256Of(md5.body)).toBe(await sandbox.sha256(PDF.id));
  });

  it('changingBody: the object changes between two GETs (same length, new bytes, headers of the new bytes)', async () => {
    const url = (await resolve(PDF)).url;
    const before = await get(url);
    sandbox.inject({ kind: 'changingBody', times: 2 });

    const v1 = await get(url);
    const v2 = await get(url);
    const after = await get(url);

    for (const v of [v1, v2]) {
      expect(v.body.length).toBe(PDF.size);
      expect(v.headers['x-oss-hash-crc64ecma']).toBe(crcOf(v.body));
      expect(sha256Of(v.body)).not.toBe(sha256Of(before.body));
      expect(v.headers.etag).not.toBe(before.headers.etag);
    }
    expect(sha256Of(v1.body)).not.toBe(sha256Of(v2.body));
    expect(sha256Of(after.body)).toBe(await sha256OfContent(PDF.id, PDF.size));
    expect(after.headers.etag).toBe(before.headers.etag);
  });
});
