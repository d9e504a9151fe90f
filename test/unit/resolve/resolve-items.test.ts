import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseResolveRequestBody } from '../../../functions/core/attachments/resolve-request.js';
import type { AttachmentRef } from '../../../functions/core/model/refs.js';
import type { Resolution } from '../../../functions/core/model/resolution.js';
import { createHandler } from '../../../functions/resolve/handler.js';
import { resolveRequestItems } from '../../../functions/resolve/resolve-items.js';
import { captureLogger, eventWithBody, fakeResolver, lambdaContext } from './fixtures.js';

describe('resolveRequestItems', () => {
  it('aligns answers with the request across expiration groups and passes the signal', async () => {
    const resolver = fakeResolver(['a', 'c']);
    const items = parseResolveRequestBody(
      '[{"id":"a","key":"k","expiration":60},{"id":"b","key":"k"},{"id":"c","key":"k","expiration":60}]',
      { maxRefs: 10 },
    );
    const signal = new AbortController().signal;
    const out = await resolveRequestItems(items, resolver, signal);
    expect(out.map((r) => [r.id, r.status])).toEqual([
      ['a', 'resolved'],
      ['b', 'not_found'],
      ['c', 'resolved'],
    ]);
    expect(resolver.calls.map((c) => [c.expiration, c.signal === signal])).toEqual([
      [60, true],
      [1800, true],
    ]);
  });

  it('refuses an answer of the wrong length', async () => {
    const items = parseResolveRequestBody('[{"id":"a","key":"k"}]', { maxRefs: 10 });
    const resolver = { resolveDownloadUrls: async (): Promise<Resolution[]> => [] };
    await expect(resolveRequestItems(items, resolver)).rejects.toMatchObject({ code: 'resolver_mismatch' });
  });
});

describe('resolve handler with vendor-size URLs', () => {
  // Vendor URLs are ~1.1 KB each (url and thumbUrl), most of it one STS security-token shared by the tenant.
  const sts = randomBytes(700).toString('base64');
  const resolver = {
    async resolveDownloadUrls(refs: readonly AttachmentRef[]): Promise<Resolution[]> {
      return refs.map((r) => {
        const sig = () => randomBytes(20).toString('base64');
        const base = `https://ekuaibao.oss-cn-hangzhou.aliyuncs.com/${r.key}?Expires=1599099810&OSSAccessKeyId=STS.NUTdxysMYQXwZApA734jgqnJb`;
        return {
          status: 'resolved',
          id: r.id,
          key: r.key,
          url: `${base}&Signature=${sig()}&security-token=${encodeURIComponent(sts)}`,
          thumbUrl: `${base}&Signature=${sig()}&x-oss-process=image%2Fresize%2Cw_120%2Ch_120&security-token=${encodeURIComponent(sts)}`,
          expiresAt: Date.parse('2025-06-23T05:30:00Z'),
        };
      });
    },
  };
  const body = JSON.stringify(
    Array.from({ length: 5_000 }, (_, i) => ({
      id: `${136634573449 + i}`,
      key: `openapi0306c2d1-7a5b-4e96-8172-${i.toString(16).padStart(12, '0')}-kotlin简介.docx`,
      expiration: 1000,
    })),
  );

  it('answers 5,000 refs gzipped when the caller accepts gzip, because plain JSON would pass Lambda 6 MB', async () => {
    const handler = createHandler({ resolver, logger: captureLogger().logger, maxRefs: 5_000 });
    const res = await handler(
      eventWithBody(body, { headers: { 'accept-encoding': 'gzip, deflate' } }),
      lambdaContext(),
    );
    expect(res.statusCode).toBe(200);
    expect(res.isBase64Encoded).toBe(true);
    expect(res.headers['content-encoding']).toBe('gzip');
    const items = JSON.parse(gunzipSync(Buffer.from(res.body, 'base64')).toString('utf8')) as unknown[];
    expect(items).toHaveLength(5_000);
    expect(Buffer.byteLength(JSON.stringify(items))).toBeGreaterThan(6 * 1024 * 1024);
  });

  it('answers a clear 413 instead of an oversized Lambda response when gzip is not accepted', async () => {
    const handler = createHandler({ resolver, logger: captureLogger().logger, maxRefs: 5_000 });
    const res = await handler(eventWithBody(body), lambdaContext());
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(res.body).error.message).toMatch(
      /send fewer items per request or send "Accept-Encoding: gzip"/,
    );
  });
});
