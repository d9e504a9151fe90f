import { describe, expect, it } from 'vitest';
import { objectMetadata } from '../../../../functions/core/copy/object-identity.js';

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
