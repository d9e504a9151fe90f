import { describe, expect, it } from 'vitest';
import {
  httpError,
  parseErrorBody,
  RAW_TEXT_LIMIT,
  transportError,
} from '../../../../functions/core/ekuaibao/upstream-errors.js';
import { EkuaibaoError } from '../../../../functions/core/errors.js';

const identity = (s: string): string => s;

describe('parseErrorBody', () => {
  it('reads {value:{errorCode,errorMessage}} first', () => {
    const body = JSON.stringify({
      value: { errorCode: 403, errorMessage: '密钥无效' },
      errorCode: 1,
      errorMessage: 'outer',
    });
    expect(parseErrorBody(body)).toEqual({ vendorCode: '403', vendorMessage: '密钥无效' });
  });

  it('reads top-level {errorCode,errorMessage} (v1/v2)', () => {
    expect(parseErrorBody('{"errorCode":"E100","errorMessage":"参数错误","errorDetails":null}')).toEqual({
      vendorCode: 'E100',
      vendorMessage: '参数错误',
    });
  });

  it('reads {code,msg} (v3)', () => {
    expect(parseErrorBody('{"code":"500","msg":"服务异常","data":null,"traceId":"t"}')).toEqual({
      vendorCode: '500',
      vendorMessage: '服务异常',
    });
  });

  it('keeps raw text, truncated, when the body is not structured', () => {
    const text = `<html>${'x'.repeat(1000)}</html>`;
    const parsed = parseErrorBody(text);
    expect(parsed.vendorMessage).toBeUndefined();
    expect(parsed.raw?.startsWith('<html>')).toBe(true);
    expect(Array.from(parsed.raw ?? '').length).toBeLessThanOrEqual(RAW_TEXT_LIMIT + 1);
  });

  it('keeps raw text for JSON without known fields and nothing for an empty body', () => {
    expect(parseErrorBody('{"oops":true}').raw).toBe('{"oops":true}');
    expect(parseErrorBody('   ')).toEqual({});
  });

  it('scrubs signed-URL queries and token pairs out of what it keeps', () => {
    const parsed = parseErrorBody(
      'failed https://oss.example.test/a.pdf?Expires=1&Signature=SIGSECRET accessToken=TOKSECRET',
    );
    expect(parsed.raw).not.toContain('SIGSECRET');
    expect(parsed.raw).not.toContain('TOKSECRET');
    expect(parsed.raw).toContain('https://oss.example.test/a.pdf');
  });

  it('applies the caller scrubber to vendor messages too', () => {
    const parsed = parseErrorBody('{"errorMessage":"token ID01x:abcd is bad"}', (s) =>
      s.replace('ID01x:abcd', '[redacted]'),
    );
    expect(parsed.vendorMessage).toBe('token [redacted] is bad');
  });
});

describe('httpError', () => {
  it('codes by status and maps 429 to 503, others to 502', () => {
    const tooMany = httpError('downloadurls', 429, {}, true);
    expect(tooMany).toBeInstanceOf(EkuaibaoError);
    expect(tooMany.code).toBe('ekuaibao_http_429');
    expect(tooMany.status).toBe(503);
    expect(tooMany.retryable).toBe(true);
    const upstream = httpError('downloadurls', 500, { vendorMessage: '附件不存在' }, true);
    expect(upstream.code).toBe('ekuaibao_http_500');
    expect(upstream.status).toBe(502);
    expect(upstream.message).toContain('附件不存在');
    expect(upstream.message).toContain('HTTP 500');
    expect(httpError('getApplyList', 400, {}, false).status).toBe(502);
  });
});

describe('transportError', () => {
  const err = (code: string): Error => Object.assign(new Error(`boom ${code}`), { code });

  it('maps undici timeouts to a retryable ekuaibao_timeout with status 504', () => {
    for (const code of ['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']) {
      const e = transportError('downloadurls', err(code), identity);
      expect(e.code).toBe('ekuaibao_timeout');
      expect(e.status).toBe(504);
      expect(e.retryable).toBe(true);
    }
  });

  it('maps resets and refusals to a retryable ekuaibao_network with status 502', () => {
    for (const code of ['UND_ERR_SOCKET', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE']) {
      const e = transportError('downloadurls', err(code), identity);
      expect(e.code).toBe('ekuaibao_network');
      expect(e.status).toBe(502);
      expect(e.retryable).toBe(true);
    }
  });

  it('finds the code on a wrapped cause', () => {
    const wrapped = new TypeError('fetch failed', { cause: err('ECONNRESET') });
    expect(transportError('x', wrapped, identity).retryable).toBe(true);
  });

  it('does not retry unknown failures or a host that does not exist', () => {
    expect(transportError('x', new Error('weird'), identity).retryable).toBe(false);
    expect(transportError('x', err('ENOTFOUND'), identity).retryable).toBe(false);
  });
});
