import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  AppError,
  EkuaibaoAuthError,
  EkuaibaoError,
  TooLargeError,
  ValidationError,
} from '../../../functions/core/errors.js';
import { UnsupportedMediaTypeError } from '../../../functions/http/api-request.js';
import {
  errorResponse,
  GZIP_MIN_BYTES,
  jsonResponse,
  MAX_LAMBDA_RESPONSE_BYTES,
  publicFailure,
  toApiResponse,
} from '../../../functions/http/api-response.js';
import { captureLogger } from '../resolve/fixtures.js';

const TOKEN = 'UvsbtOEHTsk000';
const SIGNED = `https://ekuaibao.oss-cn-hangzhou.aliyuncs.com/f.docx?Expires=1599099810&Signature=wTRfcimdrHhXbL3e&accessToken=${TOKEN}`;

describe('jsonResponse', () => {
  it('sends JSON with charset and no-store, plus extra headers', () => {
    const res = jsonResponse(200, [{ a: 1 }], { headers: { 'x-ekb-not-found-count': '0' } });
    expect(res).toEqual({
      statusCode: 200,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'x-ekb-not-found-count': '0',
      },
      body: '[{"a":1}]',
      isBase64Encoded: false,
    });
  });

  it('gzips a large body when the caller accepts gzip, and the bytes round-trip', () => {
    const body = Array.from({ length: 3_000 }, (_, i) => ({
      id: `f${i}`,
      url: `https://h.example/${'x'.repeat(100)}`,
    }));
    const res = jsonResponse(200, body, { gzip: true });
    expect(res.isBase64Encoded).toBe(true);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(gunzipSync(Buffer.from(res.body, 'base64')).toString('utf8'))).toEqual(body);
  });

  it('leaves a small body uncompressed even when gzip is accepted', () => {
    const res = jsonResponse(200, { ok: true }, { gzip: true });
    expect(res.isBase64Encoded).toBe(false);
    expect(res.headers).not.toHaveProperty('content-encoding');
    expect(GZIP_MIN_BYTES).toBeGreaterThan(res.body.length);
  });

  it('throws a 413 TooLargeError when the answer cannot fit in one Lambda response', () => {
    const big = 'y'.repeat(MAX_LAMBDA_RESPONSE_BYTES);
    expect(() => jsonResponse(200, [big])).toThrow(TooLargeError);
    expect(() => jsonResponse(200, [big])).toThrow(/Accept-Encoding: gzip/);
  });
});

describe('publicFailure', () => {
  it.each([
    [
      new ValidationError('item 3: "key" must be a non-empty string'),
      400,
      'invalid_input',
      'item 3: "key" must be a non-empty string',
    ],
    [new TooLargeError('body holds 6000 items'), 413, 'too_large', 'body holds 6000 items'],
    [
      new UnsupportedMediaTypeError('Content-Type must be application/json'),
      415,
      'unsupported_media_type',
      'Content-Type must be application/json',
    ],
  ])('shows a 4xx AppError its own message', (err, status, code, message) => {
    expect(publicFailure(err)).toEqual({ status, code, message });
  });

  it('scrubs URLs and tokens even from a 4xx message', () => {
    const failure = publicFailure(new ValidationError(`bad ${SIGNED}`));
    expect(failure.message).not.toContain(TOKEN);
    expect(failure.message).not.toContain('Signature=');
  });

  it.each([
    [new EkuaibaoAuthError(`合思 refused appKey; token ${TOKEN}`), 502, 'upstream_auth', /credentials/],
    [
      new EkuaibaoError('ekuaibao_http_500', `合思 downloadurls answered HTTP 500 ${SIGNED}`, {
        status: 502,
      }),
      502,
      'upstream_error',
      /合思 Open API failed/,
    ],
    [
      new EkuaibaoError('ekuaibao_http_429', '合思 downloadurls answered HTTP 429', { status: 503 }),
      503,
      'upstream_unavailable',
      /throttling/,
    ],
    [
      new EkuaibaoError('ekuaibao_timeout', '合思 downloadurls timed out (UND_ERR_HEADERS_TIMEOUT)', {
        status: 504,
      }),
      504,
      'upstream_timeout',
      /did not answer in time/,
    ],
    [new AppError('deadline', 'ran out of time', { status: 504 }), 504, 'timeout', /did not finish in time/],
    [
      new AppError('report_read_failed', 'S3 said SlowDown', { status: 503 }),
      503,
      'upstream_unavailable',
      /service this API depends on/,
    ],
    [
      new AppError('queue_send_failed', 'SQS refused', { status: 502 }),
      502,
      'upstream_error',
      /service this API depends on failed/,
    ],
    [new AbortedError('aborted'), 503, 'aborted', /cancelled/],
    [new AppError('resolver_mismatch', 'internal detail'), 500, 'internal_error', /request id/],
    [new TypeError(`Cannot read properties of undefined ${SIGNED}`), 500, 'internal_error', /request id/],
    ['a thrown string', 500, 'internal_error', /request id/],
  ])('answers %s with a fixed safe message', (err, status, code, message) => {
    const failure = publicFailure(err);
    expect(failure.status).toBe(status);
    expect(failure.code).toBe(code);
    expect(failure.message).toMatch(message);
    expect(failure.message).not.toContain(TOKEN);
    expect(failure.message).not.toContain('http');
  });
});

describe('toApiResponse', () => {
  it('answers a 5xx with the error body and request id, and logs the real error redacted, without a stack', () => {
    const { logger, lines, entries } = captureLogger();
    const err = new EkuaibaoError('ekuaibao_http_500', `合思 downloadurls answered HTTP 500: ${SIGNED}`, {
      status: 502,
      details: { route: 'downloadurls', upstreamStatus: 500 },
    });
    const res = toApiResponse(err, logger, 'req-1');
    expect(res.statusCode).toBe(502);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(res.body)).toEqual({
      error: {
        code: 'upstream_error',
        message: 'the 合思 Open API failed to answer; try again later',
        requestId: 'req-1',
      },
    });
    const [entry] = entries();
    expect(entry).toMatchObject({ level: 'error', status: 502, code: 'upstream_error', requestId: 'req-1' });
    expect(entry?.error).toMatchObject({ code: 'ekuaibao_http_500' });
    const all = lines.join('\n');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain('wTRfcimdrHhXbL3e');
    expect(all).not.toContain('at ');
    expect(res.body).not.toContain('合思 downloadurls answered');
  });

  it('logs an unknown error at error level with its message, and answers a generic 500', () => {
    const { logger, entries } = captureLogger();
    const res = toApiResponse(new RangeError('Invalid time value'), logger, 'req-2');
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body).error.requestId).toBe('req-2');
    expect(res.body).not.toContain('Invalid time value');
    expect(entries()[0]).toMatchObject({
      level: 'error',
      error: { name: 'RangeError', message: 'Invalid time value' },
    });
  });

  it('logs a 4xx at debug only', () => {
    const { logger, entries } = captureLogger();
    const res = toApiResponse(new ValidationError('item 0: "id" must be…'), logger);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 'invalid_input', message: 'item 0: "id" must be…' },
    });
    expect(entries().map((e) => e.level)).toEqual(['debug']);
  });
});

describe('errorResponse', () => {
  it('builds the error envelope with extra headers', () => {
    const res = errorResponse(404, 'not_found', 'no such job', 'r', { 'x-a': 'b' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-a']).toBe('b');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 'not_found', message: 'no such job', requestId: 'r' },
    });
  });
});
