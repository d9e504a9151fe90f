import { describe, expect, it } from 'vitest';
import { TooLargeError, ValidationError } from '../../../functions/core/errors.js';
import {
  acceptsGzip,
  DEFAULT_MAX_BODY_BYTES,
  decodeBody,
  headerValue,
  queryParam,
  requestIdOf,
  requireJsonContentType,
  UnsupportedMediaTypeError,
} from '../../../functions/http/api-request.js';

describe('headerValue', () => {
  it('finds a header whatever its case', () => {
    expect(headerValue({ 'Content-Type': 'application/json' }, 'content-type')).toBe('application/json');
    expect(headerValue({ 'content-type': 'text/plain' }, 'Content-Type')).toBe('text/plain');
    expect(headerValue(undefined, 'x')).toBeUndefined();
  });
});

describe('requireJsonContentType', () => {
  it.each([
    [undefined],
    [''],
    ['application/json'],
    ['application/json; charset=utf-8'],
    ['Application/JSON'],
    ['application/vnd.api+json'],
  ])('accepts %j', (ct) => {
    expect(() => requireJsonContentType(ct === undefined ? {} : { 'content-type': ct })).not.toThrow();
  });

  it.each([
    ['text/plain'],
    ['application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x'],
    ['application/jsonp'],
  ])('refuses %j with 415', (ct) => {
    let caught: unknown;
    try {
      requireJsonContentType({ 'Content-Type': ct });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnsupportedMediaTypeError);
    expect((caught as UnsupportedMediaTypeError).status).toBe(415);
    expect((caught as Error).message).toBe(`Content-Type must be application/json (got "${ct}")`);
  });
});

describe('decodeBody', () => {
  it('returns plain bodies as they are and an absent body as empty', () => {
    expect(decodeBody({ body: '[{"id":"a"}]', isBase64Encoded: false })).toBe('[{"id":"a"}]');
    expect(decodeBody({ isBase64Encoded: false })).toBe('');
  });

  it('decodes base64 bodies as UTF-8', () => {
    const text = '[{"key":"openapi…-kotlin简介.docx"}]';
    expect(decodeBody({ body: Buffer.from(text).toString('base64'), isBase64Encoded: true })).toBe(text);
  });

  it('refuses base64 bodies that are not base64, or bytes that are not UTF-8', () => {
    expect(() => decodeBody({ body: 'not base64!*', isBase64Encoded: true })).toThrow(ValidationError);
    const latin1 = Buffer.from([0x5b, 0xff, 0xfe, 0x5d]).toString('base64');
    expect(() => decodeBody({ body: latin1, isBase64Encoded: true })).toThrow('body is not valid UTF-8 text');
  });

  it('answers 413 for a body over the limit, counting UTF-8 bytes, plain or base64', () => {
    expect(DEFAULT_MAX_BODY_BYTES).toBe(2 * 1024 * 1024);
    const ascii = 'a'.repeat(101);
    expect(() => decodeBody({ body: ascii, isBase64Encoded: false }, { maxBytes: 100 })).toThrow(
      TooLargeError,
    );
    expect(decodeBody({ body: 'a'.repeat(100), isBase64Encoded: false }, { maxBytes: 100 })).toHaveLength(
      100,
    );
    // 34 CJK characters are 102 UTF-8 bytes although the string has 34 units.
    expect(() => decodeBody({ body: '简'.repeat(34), isBase64Encoded: false }, { maxBytes: 100 })).toThrow(
      'body is larger than 100 bytes',
    );
    const b64 = Buffer.from('b'.repeat(101)).toString('base64');
    expect(() => decodeBody({ body: b64, isBase64Encoded: true }, { maxBytes: 100 })).toThrow(TooLargeError);
    const b64ok = Buffer.from('b'.repeat(100)).toString('base64');
    expect(decodeBody({ body: b64ok, isBase64Encoded: true }, { maxBytes: 100 })).toHaveLength(100);
  });
});

describe('queryParam, acceptsGzip, requestIdOf', () => {
  it('reads a query parameter', () => {
    expect(queryParam({ queryStringParameters: { report: 'full' } }, 'report')).toBe('full');
    expect(queryParam({}, 'report')).toBeUndefined();
  });

  it.each([
    ['gzip, deflate, br', true],
    ['br;q=1.0, GZIP;q=0.5', true],
    ['gzip;q=0', false],
    ['deflate', false],
    [undefined, false],
  ])('Accept-Encoding %j accepts gzip: %s', (value, expected) => {
    expect(acceptsGzip(value === undefined ? {} : { 'accept-encoding': value })).toBe(expected);
  });

  it('prefers the API Gateway request id, then the Lambda one, then makes one', () => {
    expect(requestIdOf({ requestContext: { requestId: 'gw' } }, { awsRequestId: 'lambda' })).toBe('gw');
    expect(requestIdOf({ requestContext: {} }, { awsRequestId: 'lambda' })).toBe('lambda');
    expect(requestIdOf(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
