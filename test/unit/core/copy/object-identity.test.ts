import { describe, expect, it } from 'vitest';
import {
  matchIdentity,
  objectMetadata,
  sourceIdentity,
} from '../../../../functions/core/copy/object-identity.js';

describe('objectMetadata', () => {
  it('keeps the whole metadata under 2 KB and never cuts a percent escape', () => {
    const key = `DP:${JSON.stringify({ fileName: '很长的名字'.repeat(200) })}`;
    const md = objectMetadata({ id: 'F1', key });
    const total = Object.entries(md).reduce(
      (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
      0,
    );
    expect(total).toBeLessThan(2048);
    expect(md['ekb-key']).toMatch(/^(?:[^%]|%[0-9A-F]{2})*$/);
    expect(() => decodeURIComponent(md['ekb-key'] ?? '')).not.toThrow();
  });

  it('percent-encodes a non-ASCII file id so it is a valid header value', () => {
    expect(objectMetadata({ id: '文件1', key: 'k' }).fileid).toBe(encodeURIComponent('文件1'));
  });
});

describe('matchIdentity', () => {
  const ref = { id: 'F1', key: 'openapi-x-发票.pdf' };
  const head = (metadata: Record<string, string>) => ({ size: 10, metadata });

  it('is the same file when ekb-source and ekb-key-sha256 both match the ref', () => {
    expect(matchIdentity(head(objectMetadata(ref)), ref)).toBe('same');
  });

  it('is another file when either identity field differs, or only one is present', () => {
    const md = objectMetadata(ref);
    expect(matchIdentity(head(objectMetadata({ id: 'F2', key: ref.key })), ref)).toBe('other');
    expect(matchIdentity(head(objectMetadata({ id: 'F1', key: `${ref.key}x` })), ref)).toBe('other');
    expect(matchIdentity(head({ ...md, 'ekb-key-sha256': 'x' }), ref)).toBe('other');
    expect(matchIdentity(head({ 'ekb-source': md['ekb-source'] as string }), ref)).toBe('other');
    // New identity fields decide alone: an old-style match underneath does not rescue a wrong source.
    expect(matchIdentity(head({ ...md, 'ekb-source': 'file:F2' }), ref)).toBe('other');
  });

  it('is another file when there is no identity at all (size never decides)', () => {
    expect(matchIdentity(head({}), ref)).toBe('other');
    expect(matchIdentity(head({ fileid: 'F1' }), ref)).toBe('other');
  });

  it('recognises an older version object by fileid and its whole stored key', () => {
    const legacy = { fileid: 'F1', 'ekb-key': encodeURIComponent(ref.key) };
    expect(matchIdentity(head(legacy), ref)).toBe('legacy');
    expect(matchIdentity(head({ ...legacy, fileid: 'F2' }), ref)).toBe('other');
    expect(matchIdentity(head({ ...legacy, 'ekb-key': encodeURIComponent('openapi-y.pdf') }), ref)).toBe(
      'other',
    );
  });

  it('recognises an older object whose long key was stored cut to the metadata budget, not a short prefix', () => {
    const long = { id: 'F1', key: `DP:${JSON.stringify({ fileName: '很长的名字'.repeat(200) })}` };
    const full = encodeURIComponent(long.key);
    // What the older writer stored: the encoding cut at 1,900 − 6 − 2 − 7 characters, at an escape boundary.
    let cut = full.slice(0, 1_885);
    cut = cut.slice(0, cut.lastIndexOf('%') > cut.length - 9 ? cut.lastIndexOf('%') : cut.length);
    expect(matchIdentity(head({ fileid: 'F1', 'ekb-key': cut }), long)).toBe('legacy');
    expect(matchIdentity(head({ fileid: 'F1', 'ekb-key': full.slice(0, 30) }), long)).toBe('other');
  });

  it('leaves room for the integrity metadata within 2 KB, even for the longest ids and keys', () => {
    const worst = { id: '号'.repeat(256), key: `DP:${JSON.stringify({ fileName: '名'.repeat(600) })}` };
    const md = {
      ...objectMetadata(worst),
      sha256: 'f'.repeat(64),
      'source-crc64': '18446744073709551615',
      'source-md5': 'x'.repeat(24),
    };
    const total = Object.entries(md).reduce(
      (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
      0,
    );
    expect(total).toBeLessThan(2048);
    expect(matchIdentity({ size: 1, metadata: md }, worst)).toBe('same');
  });

  it('never throws on ids with lone surrogates', () => {
    const odd = { id: 'a\ud800b', key: 'k\udc00' };
    expect(matchIdentity({ size: 1, metadata: objectMetadata(odd) }, odd)).toBe('same');
  });
});

describe('sourceIdentity', () => {
  it('is file:<fileId> for a downloadurls ref', () => {
    expect(sourceIdentity({ id: 'ID01abc', key: 'k' })).toBe('file:ID01abc');
  });
});
