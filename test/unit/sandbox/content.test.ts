import { createCipheriv, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CONTENT_CHUNK_SIZE,
  contentChunks,
  contentStream,
  sha256OfContent,
} from '../../../infra/local/sandbox/content.js';

const whole = (seed: string, size: number) => Buffer.concat([...contentChunks(seed, 0, size)]);

describe('sandbox content generator', () => {
  it('is the AES-256-CTR keystream of sha256(seed) with a zero IV', () => {
    const key = createHash('sha256').update('seed-1').digest();
    const expected = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(1000));
    expect(whole('seed-1', 1000).equals(expected)).toBe(true);
  });

  it('gives different bodies for different seeds and the same body for the same seed', () => {
    expect(whole('a', 256).equals(whole('a', 256))).toBe(true);
    expect(whole('a', 256).equals(whole('b', 256))).toBe(false);
  });

  it('produces any range equal to the same slice of the whole body', () => {
    const size = 3 * CONTENT_CHUNK_SIZE + 77;
    const all = whole('r', size);
    for (const [start, end] of [
      [0, 1],
      [15, 17],
      [16, 32],
      [CONTENT_CHUNK_SIZE - 3, CONTENT_CHUNK_SIZE + 5],
      [100_001, size],
      [size, size],
    ] as const) {
      expect(Buffer.concat([...contentChunks('r', start, end)]).equals(all.subarray(start, end))).toBe(true);
    }
  });

  it('yields chunks of at most 64 KiB', () => {
    const sizes = [...contentChunks('c', 0, 2 * CONTENT_CHUNK_SIZE + 1)].map((c) => c.length);
    expect(sizes).toEqual([CONTENT_CHUNK_SIZE, CONTENT_CHUNK_SIZE, 1]);
  });

  it('rejects a bad range', () => {
    expect(() => [...contentChunks('x', 5, 4)]).toThrow(RangeError);
    expect(() => [...contentChunks('x', -1, 4)]).toThrow(RangeError);
  });

  it('streams the same bytes it hashes', async () => {
    const size = 200_003;
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of contentStream('s', size)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    expect(bytes).toBe(size);
    expect(hash.digest('hex')).toBe(await sha256OfContent('s', size));
    expect(await sha256OfContent('s', 0)).toBe(createHash('sha256').digest('hex'));
  });

  it('streams a range', async () => {
    const parts: Buffer[] = [];
    for await (const chunk of contentStream('s', 1000, { start: 10, end: 20 })) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts).equals(whole('s', 1000).subarray(10, 20))).toBe(true);
  });
});
