import { describe, expect, it } from 'vitest';
import { fileNameFromKey } from '../../../../functions/core/attachments/ref.js';
import {
  computeExpiresAt,
  readAnswerItem,
  toResolved,
  uniqueRefs,
  validateExpiration,
  validateRefs,
} from '../../../../functions/core/ekuaibao/resolution.js';
import { ValidationError } from '../../../../functions/core/errors.js';
import { DP_SIGNATURE_TTL_MS } from '../../../../functions/core/model/resolution.js';
import { chunk } from '../../../../functions/core/util/chunk.js';

const NOW = Date.parse('2024-06-04T02:30:00Z');
const DP_KEY =
  'DP:{"fileId":"136634437985","fileName":"128163bbba83.jpg","fileSize":2985928,"fileType":"jpg","spaceId":"7215288789"}';

describe('validateExpiration', () => {
  it('defaults to 1800 and accepts 1..1800', () => {
    expect(validateExpiration(undefined)).toBe(1800);
    expect(validateExpiration(1)).toBe(1);
    expect(validateExpiration(1800)).toBe(1800);
  });

  it('rejects instead of clamping: non-integers and values outside 1..1800', () => {
    for (const bad of [0, -1, 1801, 3600, 1.5, Number.NaN, '600', null]) {
      expect(() => validateExpiration(bad)).toThrow(ValidationError);
    }
    expect(() => validateExpiration(1801)).toThrow(/1 to 1800/);
  });
});

describe('validateRefs', () => {
  it('names the position and field of a bad ref', () => {
    expect(() =>
      validateRefs([
        { id: 'a', key: 'k' },
        { id: '', key: 'k' },
      ]),
    ).toThrow('refs[1].id');
    expect(() => validateRefs([{ id: 'a' }])).toThrow('refs[0].key');
    expect(() => validateRefs([null])).toThrow('refs[0]');
    expect(() => validateRefs('x')).toThrow(ValidationError);
  });

  it('rejects a DP: key whose JSON is broken, naming the ref', () => {
    expect(() => validateRefs([{ id: 'a', key: 'DP:{nope' }])).toThrow(/refs\[0\]\.key: DP: key/);
  });

  it('keeps only id and key, byte for byte', () => {
    const key = 'openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin 简介.docx';
    expect(validateRefs([{ id: 'a', key, extra: 1 }])).toEqual([{ id: 'a', key }]);
  });
});

describe('uniqueRefs and chunk', () => {
  it('drops exact duplicates only (same id and key), keeping first-seen order', () => {
    const refs = [
      { id: '1', key: 'a' },
      { id: '1', key: 'b' },
      { id: '1', key: 'a' },
      { id: '2', key: 'a' },
    ];
    expect(uniqueRefs(refs)).toEqual([
      { id: '1', key: 'a' },
      { id: '1', key: 'b' },
      { id: '2', key: 'a' },
    ]);
  });

  it('splits into slices of at most the given size', () => {
    const parts = chunk(
      Array.from({ length: 250 }, (_, i) => i),
      100,
    );
    expect(parts.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(parts.flat()).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(chunk([], 100)).toEqual([]);
  });
});

describe('fileNameFromKey', () => {
  it('takes the name after an openapi<uuid>- prefix, CJK and spaces included', () => {
    expect(fileNameFromKey('openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin简介.docx')).toBe(
      'kotlin简介.docx',
    );
    expect(fileNameFromKey('openapi0306C2D1-7A5B-4E96-8172-60C5EE0F971E-a b-c.pdf')).toBe('a b-c.pdf');
  });

  it('leaves other shapes undefined so callers fall back', () => {
    expect(fileNameFromKey('发票-1599099810000-3.pdf')).toBeUndefined();
    expect(fileNameFromKey('openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-')).toBeUndefined();
    expect(fileNameFromKey('openapi0306c2d1-7a5b-4e96-8172-60c5ee0f97-short.pdf')).toBeUndefined();
    expect(fileNameFromKey('x/openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-a.pdf')).toBeUndefined();
  });
});

describe('computeExpiresAt', () => {
  it('ordinary: the asked-for lifetime when the URL has no Expires', () => {
    expect(
      computeExpiresAt({
        key: 'k',
        url: 'https://h/a',
        headers: undefined,
        expirationSeconds: 600,
        nowMs: NOW,
      }),
    ).toBe(NOW + 600_000);
  });

  it('ordinary: the URL Expires when it comes first, the asked-for lifetime otherwise', () => {
    const soon = Math.floor(NOW / 1000) + 60;
    const late = Math.floor(NOW / 1000) + 7200;
    const at = (exp: number): number =>
      computeExpiresAt({
        key: 'k',
        url: `https://h/a?Expires=${exp}&Signature=x`,
        headers: undefined,
        expirationSeconds: 1800,
        nowMs: NOW,
      });
    expect(at(soon)).toBe(soon * 1000);
    expect(at(late)).toBe(NOW + 1_800_000);
  });

  it('DP: 15 minutes after x-oss-date, never later than the asked-for lifetime', () => {
    const signedAt = NOW - 5 * 60_000;
    const headers = { 'X-OSS-Date': new Date(signedAt).toUTCString() };
    expect(
      computeExpiresAt({ key: DP_KEY, url: 'https://h/f', headers, expirationSeconds: 1800, nowMs: NOW }),
    ).toBe(signedAt + DP_SIGNATURE_TTL_MS);
    expect(
      computeExpiresAt({ key: DP_KEY, url: 'https://h/f', headers, expirationSeconds: 60, nowMs: NOW }),
    ).toBe(NOW + 60_000);
  });

  it('DP: counts from now when x-oss-date is missing or unreadable', () => {
    for (const headers of [undefined, { 'x-oss-date': 'yesterday-ish' }]) {
      expect(
        computeExpiresAt({ key: DP_KEY, url: 'https://h/f', headers, expirationSeconds: 1800, nowMs: NOW }),
      ).toBe(NOW + DP_SIGNATURE_TTL_MS);
    }
  });
});

describe('readAnswerItem and toResolved', () => {
  it('parses a DP: key into fileName, fileType and fileSize and keeps the headers', () => {
    const item = readAnswerItem({
      id: '136634573449',
      key: DP_KEY,
      url: 'https://sh.trans.dingtalk.com/f.file',
      thumbUrl: 'https://sh.trans.dingtalk.com/f.file',
      headers: { Authorization: 'OSS id:sig', 'x-oss-date': 'Tue, 04 Jun 2024 02:36:44 GMT' },
    });
    expect(item).toBeDefined();
    const r = toResolved(item!, 1800, NOW);
    expect(r).toMatchObject({
      status: 'resolved',
      id: '136634573449',
      key: DP_KEY,
      fileName: '128163bbba83.jpg',
      fileType: 'jpg',
      fileSize: 2985928,
      headers: { Authorization: 'OSS id:sig', 'x-oss-date': 'Tue, 04 Jun 2024 02:36:44 GMT' },
      expiresAt: Date.parse('Tue, 04 Jun 2024 02:36:44 GMT') + DP_SIGNATURE_TTL_MS,
    });
  });

  it('derives fileName and fileType for openapi keys and leaves them undefined for others', () => {
    const a = toResolved(
      readAnswerItem({
        id: '1',
        key: 'openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-报销单.pdf',
        url: 'https://h/1',
      })!,
      1800,
      NOW,
    );
    expect(a.fileName).toBe('报销单.pdf');
    expect(a.fileType).toBe('pdf');
    expect(a.fileSize).toBeUndefined();
    expect(a.headers).toBeUndefined();
    expect(a.thumbUrl).toBeUndefined();
    const b = toResolved(
      readAnswerItem({ id: '2', key: 'scan-1599099810000-1.jpg', url: 'https://h/2' })!,
      1800,
      NOW,
    );
    expect(b.fileName).toBeUndefined();
    expect(b.fileType).toBeUndefined();
  });

  it('treats items without id, key or url as unreadable', () => {
    expect(readAnswerItem({ id: '1', key: 'k' })).toBeUndefined();
    expect(readAnswerItem({ id: '1', url: 'https://h' })).toBeUndefined();
    expect(readAnswerItem('nope')).toBeUndefined();
    expect(readAnswerItem({ id: 7, key: 'k', url: 'https://h' })?.id).toBe('7');
  });
});
