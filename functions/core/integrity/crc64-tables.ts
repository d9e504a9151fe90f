/**
 * What the two CRC-64/XZ loops share: the register and step types, and the lookup tables of the table-driven
 * algorithm as the JavaScript loop (crc64-js.ts) keeps them. JavaScript has no fast 64-bit integer, so each entry is
 * two 32-bit halves, low and high apart, as Int32Arrays. (The WebAssembly loop, crc64-wasm.ts, builds the same tables
 * as i64s in its own memory; the tests compare the two loops.)
 */

/** The ECMA-182 polynomial 0x42F0E1EBA9EA3693, bit-reversed (the reflected algorithm shifts right). */
const POLY_HI = 0xc96c5795 | 0;
const POLY_LO = 0xd7870f42 | 0;

/** Tables k = 0..count-1 of 256 entries each, table k at [k * 256, k * 256 + 256), low and high halves apart. */
export interface Crc64Tables {
  lo: Int32Array;
  hi: Int32Array;
}

/** Builds the first `count` tables (slicing-by-N uses N). */
export function buildTables(count: number): Crc64Tables {
  const tLo = new Int32Array(count * 256);
  const tHi = new Int32Array(count * 256);
  for (let i = 0; i < 256; i++) {
    let lo = i;
    let hi = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = lo & 1;
      lo = (lo >>> 1) | (hi << 31);
      hi >>>= 1;
      if (carry) {
        lo ^= POLY_LO;
        hi ^= POLY_HI;
      }
    }
    tLo[i] = lo;
    tHi[i] = hi;
  }
  // Table k advances a byte through k further zero bytes: T[k][i] = T[k-1][i] >> 8 ^ T[0][T[k-1][i] & 0xff].
  for (let k = 1; k < count; k++) {
    for (let i = 0; i < 256; i++) {
      const lo = tLo[(k - 1) * 256 + i]!;
      const hi = tHi[(k - 1) * 256 + i]!;
      const idx = lo & 0xff;
      tLo[k * 256 + i] = ((lo >>> 8) | (hi << 24)) ^ tLo[idx]!;
      tHi[k * 256 + i] = (hi >>> 8) ^ tHi[idx]!;
    }
  }
  return { lo: tLo, hi: tHi };
}

/** The CRC register, pre-inverted (init = all ones), as signed 32-bit halves; an engine advances it in place. */
export interface Crc64Register {
  lo: number;
  hi: number;
}

/** Advances `reg` over every byte of `chunk` (any length, byteOffset or alignment). */
export type Crc64Step = (reg: Crc64Register, chunk: Uint8Array) => void;
