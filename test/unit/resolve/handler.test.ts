/** The resolve handler with whole API Gateway v2 events and a plain fake resolver (no sockets). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AppError,
  EkuaibaoAuthError,
  EkuaibaoError,
  ValidationError,
} from '../../../functions/core/errors.js';
import type { ResolveHandlerDeps } from '../../../functions/resolve/handler.js';
import { createHandler, type ResolveEvent } from '../../../functions/resolve/handler.js';
import {
  captureLogger,
  eventWithBody,
  fakeResolver,
  lambdaContext,
  loadEvent,
  VENDOR_REFS,
} from './fixtures.js';

const TOKEN = 'UvsbtOEHTsk000';

function setup(
  resolver = fakeResolver(VENDOR_REFS.map((r) => r.id)),
  extra: Partial<ResolveHandlerDeps> = {},
) {
  const log = captureLogger();
  const handler = createHandler({ resolver, logger: log.logger, maxRefs: 5_000, ...extra });
  const call = async (event: ResolveEvent, remainingMs?: number) => {
    const res = await handler(event, lambdaContext(remainingMs));
    return { ...res, json: JSON.parse(res.body) as unknown };
  };
  return { resolver, call, ...log };
}

const refsBody = (n: number, prefix = 'f') =>
  JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, key: `k${i}` })));

describe('resolve handler: answers', () => {
  it('answers the vendor curl example with the vendor shape, DP: headers and additive fields', async () => {
    const { call, resolver } = setup();
    const res = await call(loadEvent());
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-ekb-not-found-count': '0',
    });
    const items = res.json as Record<string, unknown>[];
    expect(Array.isArray(items)).toBe(true);
    expect(items.map((i) => [i.id, i.key])).toEqual(VENDOR_REFS.map((r) => [r.id, r.key]));
    expect(items[0]).toMatchObject({ url: expect.stringMatching(/^https:/), thumbUrl: expect.any(String) });
    expect(items[0]).not.toHaveProperty('headers');
    expect(items[1]).toMatchObject({
      headers: { Authorization: expect.stringMatching(/^OSS /), 'x-oss-date': expect.any(String) },
      fileName: '128163bbba83.jpg',
      fileType: 'jpg',
      fileSize: 2985928,
      expiresAt: '2025-06-23T05:16:57.000Z',
    });
    expect(resolver.calls).toHaveLength(1);
    expect(resolver.calls[0]?.expiration).toBe(1000);
    expect(resolver.calls[0]?.refs).toEqual(VENDOR_REFS);
  });

  it('decodes a base64-encoded event body to the same answer', async () => {
    const { call } = setup();
    const plain = await call(loadEvent());
    const b64 = await call(loadEvent('api-gateway-v2-download-urls-base64'));
    expect(b64.statusCode).toBe(200);
    expect(b64.json).toEqual(plain.json);
  });

  it('leaves not-found refs out of the vendor array and counts them in a header', async () => {
    const { call } = setup(fakeResolver(['a']));
    const body = JSON.stringify([
      { id: 'gone', key: 'kg' },
      { id: 'a', key: 'ka' },
      { id: 'gone', key: 'kg' },
      { id: 'a', key: 'ka' },
    ]);
    const res = await call(eventWithBody(body));
    expect(res.statusCode).toBe(200);
    expect((res.json as { id: string }[]).map((i) => i.id)).toEqual(['a', 'a']);
    expect(res.headers['x-ekb-not-found-count']).toBe('2');
  });

  it('answers items and notFound with report=full', async () => {
    const { call } = setup(fakeResolver(['a']));
    const body = JSON.stringify([
      { id: 'gone', key: 'kg' },
      { id: 'a', key: 'ka' },
    ]);
    const res = await call(eventWithBody(body, { query: { report: 'full' } }));
    expect(res.statusCode).toBe(200);
    const json = res.json as { items: { id: string }[]; notFound: unknown[] };
    expect(json.items.map((i) => i.id)).toEqual(['a']);
    expect(json.notFound).toEqual([{ index: 0, id: 'gone', key: 'kg' }]);
  });

  it('echoes a numeric id as a number', async () => {
    const { call, resolver } = setup(fakeResolver(['136634573449']));
    const res = await call(eventWithBody('[{"id":136634573449,"key":"k"}]'));
    expect((res.json as { id: unknown }[])[0]?.id).toBe(136634573449);
    expect(resolver.calls[0]?.refs).toEqual([{ id: '136634573449', key: 'k' }]);
  });

  it('calls the resolver once per distinct expiration and answers in request order', async () => {
    const { call, resolver } = setup(fakeResolver(['a', 'b', 'c']));
    const body = JSON.stringify([
      { id: 'a', key: 'k', expiration: 600 },
      { id: 'b', key: 'k' },
      { id: 'c', key: 'k', expiration: 600 },
    ]);
    const res = await call(eventWithBody(body));
    expect(resolver.calls.map((c) => [c.expiration, c.refs.map((r) => r.id)])).toEqual([
      [600, ['a', 'c']],
      [1800, ['b']],
    ]);
    expect((res.json as { id: string }[]).map((i) => i.id)).toEqual(['a', 'b', 'c']);
  });

  it('accepts no Content-Type header at all', async () => {
    const { call } = setup();
    const event = loadEvent();
    delete event.headers['content-type'];
    expect((await call(event)).statusCode).toBe(200);
  });

  it('passes a live AbortSignal bounded by the Lambda remaining time', async () => {
    const { call, resolver } = setup();
    await call(loadEvent(), 29_000);
    const signal = resolver.calls[0]?.signal;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal?.aborted).toBe(false);
  });

  it('logs one line per request with counts and no URL, header or signature', async () => {
    const { call, entries, lines } = setup(fakeResolver([VENDOR_REFS[1]!.id]));
    await call(loadEvent());
    const info = entries().filter((e) => e.level === 'info');
    expect(info).toHaveLength(1);
    expect(info[0]).toMatchObject({
      message: 'resolve request',
      requestId: 'MJ3sNg_4IAMEV5w=',
      status: 200,
      refs: 2,
      found: 1,
      notFound: 1,
      ms: expect.any(Number),
    });
    const all = lines.join('\n');
    expect(all).not.toMatch(/SIGSECRET|THUMBSECRET|OSS LTAI|https?:/);
  });
});

describe('resolve handler: bad input', () => {
  it.each([
    ['not JSON', '[{"id":', 'body is not valid JSON'],
    ['not an array', '{"id":"a","key":"k"}', 'body must be a JSON array'],
    ['an empty array', '[]', 'body must hold at least one item'],
    ['an item that is not an object', '[{"id":"a","key":"k"},7]', 'item 1 must be an object'],
    [
      'a missing key',
      '[{"id":"a","key":"k"},{"id":"b"},{"id":"c","key":"k"},{"id":"d","key":""}]',
      'item 1: "key" must be a non-empty string',
    ],
    [
      'an empty key at item 3',
      '[{"id":"a","key":"k"},{"id":"b","key":"k"},{"id":"c","key":"k"},{"id":"d","key":""}]',
      'item 3: "key" must be a non-empty string',
    ],
    ['a non-string id', '[{"id":{"x":1},"key":"k"}]', 'item 0: "id" must be a non-empty string'],
    [
      'an expiration over 1800',
      '[{"id":"a","key":"k","expiration":3600}]',
      'item 0: "expiration" must be an integer',
    ],
    [
      'a broken DP: key',
      '[{"id":"a","key":"DP:{\\"fileId\\":"}]',
      'item 0: "key" is a DP: key whose JSON is broken',
    ],
    ['an empty body', '', 'body is empty'],
  ])('answers 400 for %s, naming item and field, without calling 合思', async (_what, body, message) => {
    const { call, resolver } = setup();
    const res = await call(eventWithBody(body));
    expect(res.statusCode).toBe(400);
    expect(res.headers['cache-control']).toBe('no-store');
    const { error } = res.json as { error: { code: string; message: string; requestId: string } };
    expect(error.code).toBe('invalid_input');
    expect(error.message).toContain(message);
    expect(error.requestId).toBe('MJ3sNg_4IAMEV5w=');
    expect(resolver.calls).toHaveLength(0);
  });

  it('answers 400 for a missing body', async () => {
    const { call } = setup();
    expect((await call(eventWithBody(undefined))).statusCode).toBe(400);
  });

  it('answers 400 for an unknown report mode', async () => {
    const { call } = setup();
    const res = await call(eventWithBody(refsBody(1), { query: { report: 'everything' } }));
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('query parameter \\"report\\"');
  });

  it('answers 413 for more refs than maxRefs', async () => {
    const { call, resolver } = setup(fakeResolver(), { maxRefs: 100 });
    const res = await call(eventWithBody(refsBody(101)));
    expect(res.statusCode).toBe(413);
    expect((res.json as { error: { code: string; message: string } }).error).toEqual(
      expect.objectContaining({ code: 'too_large', message: expect.stringContaining('at most 100') }),
    );
    expect(resolver.calls).toHaveLength(0);
    const ok = await call(eventWithBody(refsBody(100)));
    expect(ok.statusCode).toBe(200);
  });

  it('answers 413 for a raw body over the byte limit, before parsing it', async () => {
    const { call } = setup(fakeResolver(), { maxBodyBytes: 1_000 });
    const res = await call(eventWithBody(`[${' '.repeat(1_000)}]`));
    expect(res.statusCode).toBe(413);
    expect(res.body).toContain('body is larger than 1000 bytes');
  });

  it('answers 413 for the default 2 MiB limit', async () => {
    const { call } = setup();
    const res = await call(eventWithBody(`[${' '.repeat(2 * 1024 * 1024)}]`));
    expect(res.statusCode).toBe(413);
  });

  it('answers 415 for a Content-Type that is not JSON', async () => {
    const { call, resolver } = setup();
    const res = await call(eventWithBody(refsBody(1), { headers: { 'content-type': 'text/plain' } }));
    expect(res.statusCode).toBe(415);
    expect((res.json as { error: { code: string } }).error.code).toBe('unsupported_media_type');
    expect(resolver.calls).toHaveLength(0);
  });

  it('never answers 500 for random bodies (property)', async () => {
    const { call } = setup(fakeResolver(['a', '1']), { maxRefs: 20 });
    const item = fc.oneof(
      fc.record(
        {
          id: fc.oneof(fc.string(), fc.integer(), fc.constant('a')),
          key: fc.string(),
          expiration: fc.integer({ min: -5, max: 2000 }),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const body = fc.oneof(
      fc.array(item, { maxLength: 25 }).map((a) => JSON.stringify(a)),
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await call(eventWithBody(b));
        expect([200, 400, 413]).toContain(res.statusCode);
      }),
      { numRuns: 500 },
    );
  });
});

describe('resolve handler: failures', () => {
  const SIGNED = `https://ekuaibao.oss-cn-hangzhou.aliyuncs.com/x.docx?Expires=1&Signature=abc123SIG&accessToken=${TOKEN}`;

  it.each([
    [
      new EkuaibaoError('ekuaibao_http_500', `合思 downloadurls answered HTTP 500: ${SIGNED}`, {
        status: 502,
      }),
      502,
      'upstream_error',
    ],
    [
      new EkuaibaoError('ekuaibao_network', `合思 downloadurls could not be reached (ECONNRESET) ${SIGNED}`, {
        status: 502,
      }),
      502,
      'upstream_error',
    ],
    [
      new EkuaibaoAuthError(`合思 refused the app credentials (getAccessToken?accessToken=${TOKEN})`),
      502,
      'upstream_auth',
    ],
    [
      new EkuaibaoError('ekuaibao_http_429', '合思 downloadurls answered HTTP 429', { status: 503 }),
      503,
      'upstream_unavailable',
    ],
    [
      new EkuaibaoError('ekuaibao_timeout', '合思 downloadurls timed out (UND_ERR_HEADERS_TIMEOUT)', {
        status: 504,
      }),
      504,
      'upstream_timeout',
    ],
  ])('maps %s to a safe %i answer', async (err, status, code) => {
    const { call, lines } = setup(fakeResolver([], { fail: err }));
    const res = await call(loadEvent());
    expect(res.statusCode).toBe(status);
    expect((res.json as { error: { code: string; requestId: string } }).error).toMatchObject({
      code,
      requestId: 'MJ3sNg_4IAMEV5w=',
    });
    for (const text of [res.body, lines.join('\n')]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain('abc123SIG');
      expect(text).not.toContain('?Expires');
    }
    expect(res.body).not.toContain('合思 downloadurls');
  });

  it('answers 504 when the Lambda deadline (minus the margin) passes before 合思 answers', async () => {
    const { call, entries } = setup(fakeResolver([], { hang: true }), { deadlineMarginMs: 1_500 });
    const res = await call(loadEvent(), 1_550);
    expect(res.statusCode).toBe(504);
    expect((res.json as { error: { code: string } }).error.code).toBe('timeout');
    expect(entries().find((e) => e.level === 'info')).toMatchObject({ status: 504, refs: 2 });
  });

  it('answers a generic 500 when the resolver refuses input we accepted (e.g. no credentials configured)', async () => {
    const { call, entries } = setup(
      fakeResolver([], {
        fail: new ValidationError('no 合思 credentials: set EKB_APP_KEY and EKB_APP_SECURITY'),
      }),
    );
    const res = await call(loadEvent());
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('EKB_APP_KEY');
    const logged = JSON.stringify(entries().find((e) => e.level === 'error'));
    expect(logged).toContain('resolver_refused');
    expect(logged).toContain('EKB_APP_KEY');
  });

  it('answers a generic 500 with the request id for an unknown error, and logs it', async () => {
    const { call, entries } = setup(fakeResolver([], { fail: new TypeError('x is not a function') }));
    const res = await call(loadEvent());
    expect(res.statusCode).toBe(500);
    expect(res.json).toEqual({
      error: {
        code: 'internal_error',
        message: 'internal error; quote the request id when you report it',
        requestId: 'MJ3sNg_4IAMEV5w=',
      },
    });
    expect(entries().find((e) => e.level === 'error')).toMatchObject({
      requestId: 'MJ3sNg_4IAMEV5w=',
      error: { name: 'TypeError', message: 'x is not a function' },
    });
  });

  it('answers a generic 500 and logs the cause when the dependencies cannot be built', async () => {
    const boot = captureLogger();
    const handler = createHandler(() => {
      throw new ValidationError('Invalid configuration: EKB_BASE_URL must be an http(s) URL (got "ftp://x")');
    }, boot.logger);
    const res = await handler(loadEvent(), lambdaContext());
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('EKB_BASE_URL');
    expect(JSON.stringify(boot.entries())).toContain('EKB_BASE_URL must be an http(s) URL');
  });

  it('answers 500 if the resolver mixes up refs', async () => {
    const resolver = {
      calls: [],
      resolveDownloadUrls: async () => [{ status: 'not_found' as const, id: 'other', key: 'k' }],
    };
    const { call } = setup(resolver as never);
    expect((await call(eventWithBody('[{"id":"a","key":"k"}]'))).statusCode).toBe(500);
  });

  it('maps a 5xx AppError from elsewhere by its status', async () => {
    const { call } = setup(
      fakeResolver([], { fail: new AppError('manifest_read_failed', 'y', { status: 503 }) }),
    );
    expect((await call(loadEvent())).statusCode).toBe(503);
  });
});
