import { describe, expect, it } from 'vitest';
import { redact, redactText, redactUrl } from '../../../../functions/core/util/redact.js';

const signedUrl =
  'https://ekuaibao.oss-cn-hangzhou.aliyuncs.com/openapi0306-kotlin%E7%AE%80.docx?Expires=1599099810&OSSAccessKeyId=STS.NUT&Signature=wTRfcimdrHhX%3D&security-token=CAIS8AF1';

describe('redactUrl', () => {
  it('keeps scheme, host and path and drops the signed query', () => {
    expect(redactUrl(signedUrl)).toBe(
      'https://ekuaibao.oss-cn-hangzhou.aliyuncs.com/openapi0306-kotlin%E7%AE%80.docx?[redacted]',
    );
  });

  it('drops user info and fragments, and hides what is not a URL at all', () => {
    expect(redactUrl('https://user:pass@host.example/p#frag')).toBe('https://host.example/p');
    expect(redactUrl('not a url')).toBe('[redacted-url]');
  });
});

describe('redactText', () => {
  it('scrubs URLs, token pairs and OSS authorizations inside free text', () => {
    const text = `GET ${signedUrl} failed; accessToken=ID01x:TsI3&x=1 appSecurity=s3cr3t Authorization: OSS LTAIjmWpzHta71rc:aSqNM0yoD0TJ8ljy0WBfRKtaowY=`;
    const out = redactText(text);
    for (const secret of [
      'wTRfcimdrHhX',
      'CAIS8AF1',
      'ID01x:TsI3',
      's3cr3t',
      'aSqNM0yoD0TJ8ljy0WBfRKtaowY=',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('ekuaibao.oss-cn-hangzhou.aliyuncs.com');
  });
});

describe('redact', () => {
  it('replaces secret fields at any depth and scrubs every string', () => {
    const out = redact({
      jobId: 'j1',
      accessToken: 'ID01x:TsI3',
      nested: {
        headers: { Authorization: 'OSS a:b', 'x-oss-date': 'Tue' },
        url: signedUrl,
        note: `see ${signedUrl}`,
      },
      list: [{ appSecurity: 'pw' }],
    }) as Record<string, unknown>;
    const text = JSON.stringify(out);
    expect(text).not.toMatch(/TsI3|OSS a:b|wTRfcimdrHhX|"pw"/);
    expect(out.jobId).toBe('j1');
    expect((out.nested as Record<string, unknown>).headers).toBe('[redacted]');
  });

  it('turns errors into name, message, code and cause, scrubbed', () => {
    const cause = new Error(`socket hang up at ${signedUrl}`);
    const err = Object.assign(new Error('download failed', { cause }), { code: 'download_failed' });
    const out = redact(err) as Record<string, unknown>;
    expect(out).toMatchObject({ name: 'Error', message: 'download failed', code: 'download_failed' });
    expect(JSON.stringify(out.cause)).not.toContain('Signature=');
  });

  it('bounds depth on self-referencing structures instead of overflowing', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(() => JSON.stringify(redact(a))).not.toThrow();
  });
});
