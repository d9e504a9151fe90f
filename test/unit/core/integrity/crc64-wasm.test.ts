import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Crc64, crc64 } from '../../../../functions/core/integrity/crc64.js';
import { updateJs } from '../../../../functions/core/integrity/crc64-js.js';
import type { Crc64Step } from '../../../../functions/core/integrity/crc64-tables.js';
import { crc64WasmBytes, createWasmStep } from '../../../../functions/core/integrity/crc64-wasm.js';

/**
 * The WebAssembly loop against the JavaScript slicing-by-8 it replaced (kept as the fallback, crc64-js.ts), which
 * crc64.test.ts holds to an independent bit-by-bit model: same digest, bit for bit, for any bytes, lengths, splits
 * and byteOffsets, including chunks longer than the 64 KiB window the loop copies through and lengths at the edges
 * of its two-stream blocks.
 */

const ascii = (text: string) => new TextEncoder().encode(text);

function digestWith(step: Crc64Step, chunks: readonly Uint8Array[]): bigint {
  const reg = { lo: -1, hi: -1 };
  for (const chunk of chunks) step(reg, chunk);
  return (BigInt(~reg.hi >>> 0) << 32n) | BigInt(~reg.lo >>> 0);
}

const wasm8 = createWasmStep(8);
const wasm16 = createWasmStep(16);
const wasm32 = createWasmStep(32);
const steps: Array<[string, Crc64Step]> = [
  ['wasm slicing-by-8', wasm8!],
  ['wasm slicing-by-16', wasm16!],
  ['wasm slicing-by-32', wasm32!],
  ['JavaScript fallback', updateJs],
];

/** Reproducible pseudo-random bytes (xorshift32), so that a failing case fails again with fast-check's seed. */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed | 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** One backing buffer; cases take subarrays of it, so byteOffsets are arbitrary. */
const BACKING = pseudoRandomBytes(300_000, 0x2545f491);

/** A body at `offset` into BACKING, cut into chunks at the given points (chunks are views, like a stream's). */
function split(
  offset: number,
  length: number,
  cutSeeds: readonly number[],
): { body: Buffer; chunks: Buffer[] } {
  const body = BACKING.subarray(offset, offset + length);
  const cuts = [...new Set(cutSeeds.map((c) => c % (length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, length]) {
    chunks.push(body.subarray(from, cut));
    from = cut;
  }
  return { body, chunks };
}

describe('crc64 in WebAssembly', () => {
  it('is available on this Node, and the module is a valid one', () => {
    expect(wasm8).toBeTypeOf('function');
    expect(wasm16).toBeTypeOf('function');
    expect(wasm32).toBeTypeOf('function');
    expect([...crc64WasmBytes(32).subarray(0, 8)]).toEqual([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  });

  it.each(steps)('%s gives the catalogue check value and 0 for nothing', (_, step) => {
    expect(digestWith(step, [ascii('123456789')])).toBe(0x995dc9bbdf1939fan);
    expect(digestWith(step, [ascii('1234'), ascii(''), ascii('56789')])).toBe(0x995dc9bbdf1939fan);
    expect(digestWith(step, [])).toBe(0n);
  });

  it('matches the JavaScript loop for every length 0..300 at every offset 0..15', () => {
    for (let offset = 0; offset < 16; offset++) {
      for (let length = 0; length <= 300; length++) {
        const body = BACKING.subarray(offset, offset + length);
        const expected = digestWith(updateJs, [body]);
        expect(digestWith(wasm32!, [body])).toBe(expected);
        expect(digestWith(wasm16!, [body])).toBe(expected);
        expect(digestWith(wasm8!, [body])).toBe(expected);
      }
    }
  });

  it('matches the JavaScript loop at the edges of its 8 KiB two-stream blocks and 64 KiB windows', () => {
    const lengths = [8191, 8192, 8193, 8207, 8208, 8209, 16383, 16384, 16400, 65535, 65536, 65537, 139_271];
    for (const length of lengths) {
      for (let offset = 0; offset < 4; offset++) {
        const body = BACKING.subarray(offset, offset + length);
        const expected = digestWith(updateJs, [body]);
        for (const [, step] of steps) expect(digestWith(step, [body])).toBe(expected);
      }
    }
  });

  it('matches the JavaScript loop on random bodies, split at random, at random byteOffsets', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1000 }),
        fc.nat({ max: 200_000 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (offset, length, cutSeeds) => {
          const { body, chunks } = split(offset, length, cutSeeds);
          const expected = digestWith(updateJs, [body]);
          expect(digestWith(updateJs, chunks)).toBe(expected);
          expect(digestWith(wasm32!, chunks)).toBe(expected);
          expect(digestWith(wasm16!, chunks)).toBe(expected);
          expect(digestWith(wasm8!, chunks)).toBe(expected);
          const c = new Crc64();
          for (const chunk of chunks) c.update(chunk);
          expect(c.digest()).toBe(expected);
          expect(c.length).toBe(length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps each Crc64 apart when updates of several interleave (one shared instance)', () => {
    const a = split(5, 150_000, [70_000, 1, 99_999, 140_001]);
    const b = split(77, 90_001, [3, 65_536, 65_537]);
    const ca = new Crc64();
    const cb = new Crc64();
    for (let i = 0; i < Math.max(a.chunks.length, b.chunks.length); i++) {
      if (a.chunks[i]) ca.update(a.chunks[i]!);
      if (b.chunks[i]) cb.update(b.chunks[i]!);
    }
    expect(ca.digest()).toBe(digestWith(updateJs, [a.body]));
    expect(cb.digest()).toBe(digestWith(updateJs, [b.body]));
    expect(crc64(a.body)).toBe(ca.digest());
  });

  it('reads chunks longer than its 64 KiB window, and Buffers from the shared pool', () => {
    const long = BACKING.subarray(3, 3 + 3 * 65536 + 11);
    expect(crc64(long)).toBe(digestWith(updateJs, [long]));
    const pooled = Buffer.from('123456789');
    expect(pooled.byteOffset === 0 && pooled.buffer.byteLength === 9).toBe(false);
    expect(crc64(pooled)).toBe(0x995dc9bbdf1939fan);
  });
});
