import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Crc64, crc64, parseCrc64Header } from '../../../../functions/core/integrity/crc64.js';

/**
 * An independent CRC-64/XZ straight from the catalogue's parameter set (Rocksoft model, MSB first, BigInt, one
 * bit at a time): width 64, poly 0x42F0E1EBA9EA3693 (ECMA-182, normal form), init all ones, refin and refout
 * true, xorout all ones. It shares no table, constant or shift direction with the implementation under test.
 */
function crc64Model(data: Uint8Array): bigint {
  const WIDTH_MASK = (1n << 64n) - 1n;
  const POLY = 0x42f0e1eba9ea3693n;
  const TOP = 1n << 63n;
  const reflect = (value: bigint, bits: number): bigint => {
    let out = 0n;
    for (let i = 0; i < bits; i++) if ((value >> BigInt(i)) & 1n) out |= 1n << BigInt(bits - 1 - i);
    return out;
  };
  let crc = WIDTH_MASK;
  for (const byte of data) {
    crc ^= reflect(BigInt(byte), 8) << 56n;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & TOP ? ((crc << 1n) ^ POLY) & WIDTH_MASK : (crc << 1n) & WIDTH_MASK;
  }
  return reflect(crc, 64) ^ WIDTH_MASK;
}

const ascii = (text: string) => new TextEncoder().encode(text);

describe('crc64 (CRC-64/XZ, what OSS sends as x-oss-hash-crc64ecma)', () => {
  it('gives the catalogue check value for "123456789"', () => {
    // reveng CRC catalogue, CRC-64/XZ: check=0x995dc9bbdf1939fa.
    expect(crc64(ascii('123456789'))).toBe(0x995dc9bbdf1939fan);
    expect(new Crc64().update(ascii('123456789')).digestDecimal()).toBe('11051210869376104954');
  });

  it('gives 0 for empty input (init and xorout cancel out)', () => {
    expect(crc64(new Uint8Array(0))).toBe(0n);
    expect(new Crc64().digestDecimal()).toBe('0');
  });

  it('agrees with the independent bit-by-bit model, which also gives the check value', () => {
    expect(crc64Model(ascii('123456789'))).toBe(0x995dc9bbdf1939fan);
    // A fixed vector over every byte value, long enough to use the eight-byte path and the byte tail.
    const everyByte = Uint8Array.from({ length: 1027 }, (_, i) => (i * 7 + 3) & 0xff);
    expect(crc64(everyByte)).toBe(crc64Model(everyByte));
    expect(crc64(ascii('The quick brown fox jumps over the lazy dog'))).toBe(
      crc64Model(ascii('The quick brown fox jumps over the lazy dog')),
    );
  });

  it('agrees with the model on arbitrary bytes at any alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 7 }), (bytes, offset) => {
        // A view that starts `offset` bytes into its buffer exercises the unaligned lead-in.
        const backing = new Uint8Array(bytes.length + offset);
        backing.set(bytes, offset);
        const view = backing.subarray(offset);
        expect(crc64(view)).toBe(crc64Model(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('gives the one-shot value however the input is split into updates', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 4096 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (bytes, cutSeeds) => {
          const cuts = [
            ...new Set(cutSeeds.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1)))),
          ].sort((a, b) => a - b);
          const incremental = new Crc64();
          let from = 0;
          for (const cut of [...cuts, bytes.length]) {
            incremental.update(bytes.subarray(from, cut));
            from = cut;
          }
          expect(incremental.digest()).toBe(crc64(bytes));
          expect(incremental.length).toBe(bytes.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('digest() does not reset: updates after it continue the same CRC', () => {
    const c = new Crc64().update(ascii('1234'));
    c.digest();
    expect(c.update(ascii('56789')).digest()).toBe(0x995dc9bbdf1939fan);
  });
});

describe('parseCrc64Header', () => {
  it('reads an unsigned 64-bit decimal', () => {
    expect(parseCrc64Header('11051210869376104954')).toBe(0x995dc9bbdf1939fan);
    expect(parseCrc64Header('0')).toBe(0n);
    expect(parseCrc64Header('18446744073709551615')).toBe((1n << 64n) - 1n);
  });

  it.each([
    undefined,
    '',
    ' 1',
    '1 ',
    '-1',
    '+1',
    '01',
    '1.0',
    '0x995DC9BBDF1939FA',
    '18446744073709551616',
    '999999999999999999999',
    'abc',
    '１２３',
  ])('refuses %j without throwing', (value) => {
    expect(parseCrc64Header(value)).toBeUndefined();
  });
});
