import { describe, expect, it } from 'vitest';
import {
  contentDisposition,
  contentTypeFor,
  DEFAULT_CONTENT_TYPE,
} from '../../../../functions/core/attachments/content-type.js';

describe('contentTypeFor', () => {
  it.each([
    ['a.pdf', 'application/pdf'],
    ['A.JPG', 'image/jpeg'],
    ['a.jpeg', 'image/jpeg'],
    ['a.png', 'image/png'],
    ['a.heic', 'image/heic'],
    ['发票.ofd', 'application/ofd'],
    ['a.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    ['a.7z', 'application/x-7z-compressed'],
    ['a.eml', 'message/rfc822'],
    ['a.txt', 'text/plain; charset=utf-8'],
  ])('maps %s to %s', (name, type) => {
    expect(contentTypeFor(name)).toBe(type);
  });

  it('falls back to the DP: fileType when the name has no known extension', () => {
    expect(contentTypeFor('scan', 'pdf')).toBe('application/pdf');
    expect(contentTypeFor('scan', '.PNG')).toBe('image/png');
  });

  it('answers application/octet-stream for unknown types', () => {
    expect(contentTypeFor('a.weird')).toBe(DEFAULT_CONTENT_TYPE);
    expect(contentTypeFor('noext', 'weird')).toBe(DEFAULT_CONTENT_TYPE);
  });
});

describe('contentDisposition', () => {
  it('gives an ASCII fallback and the exact UTF-8 name (RFC 6266/5987)', () => {
    expect(contentDisposition('发票.pdf')).toBe(
      `attachment; filename="__.pdf"; filename*=UTF-8''%E5%8F%91%E7%A5%A8.pdf`,
    );
  });

  it('escapes quotes and backslashes in the fallback and percent-encodes them in filename*', () => {
    expect(contentDisposition('a"b\\c d.txt')).toBe(
      `attachment; filename="a\\"b\\\\c d.txt"; filename*=UTF-8''a%22b%5Cc%20d.txt`,
    );
  });

  it('round-trips the name through decodeURIComponent', () => {
    const name = "报销 (final) 100% 'x';.pdf";
    const header = contentDisposition(name);
    const star = /filename\*=UTF-8''(.+)$/.exec(header)?.[1] ?? '';
    expect(star).toMatch(/^(?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})+$/);
    expect(decodeURIComponent(star)).toBe(name);
  });

  it('drops control characters that would break the header', () => {
    const header = contentDisposition('a\r\nb.pdf');
    expect(header).not.toMatch(/[\r\n]/);
    expect(header).toContain('filename="ab.pdf"');
  });
});
