/**
 * CRC-64/XZ slicing-by-8 in plain JavaScript: the fallback for a runtime without WebAssembly (Node always has it;
 * see crc64-wasm.ts) and the reference the WebAssembly loop is tested against. The register stays in two int32
 * locals and the tables in Int32Arrays, so every step stays in V8's small-integer/int32 paths (BigInt per byte
 * would be ~100× slower).
 */
import { buildTables, type Crc64Register } from './crc64-tables.js';

/** The eight tables of slicing-by-8, as Int32Arrays of low and high halves. */
const { lo: T_LO, hi: T_HI } = buildTables(8);

/** Word reads assume little-endian memory (every platform Lambda and Node ship on); others go byte by byte. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Advances `reg` over `chunk`. */
export function updateJs(reg: Crc64Register, chunk: Uint8Array): void {
  const n = chunk.length;
  let i = 0;
  // Byte by byte up to a 4-byte boundary, then eight bytes a step read as two int32 words from a view on the
  // same memory (25% faster than assembling them from bytes), then the tail byte by byte.
  if (LITTLE_ENDIAN) {
    const lead = Math.min(n, (4 - (chunk.byteOffset & 3)) & 3);
    bytes(reg, chunk, 0, lead);
    i = lead;
    const pairs = (n - i) >>> 3;
    if (pairs > 0) {
      words(reg, new Int32Array(chunk.buffer, chunk.byteOffset + i, pairs * 2));
      i += pairs * 8;
    }
  }
  bytes(reg, chunk, i, n);
}

function bytes(reg: Crc64Register, chunk: Uint8Array, from: number, to: number): void {
  let lo = reg.lo;
  let hi = reg.hi;
  for (let i = from; i < to; i++) {
    const idx = (lo ^ chunk[i]!) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ T_LO[idx]!;
    hi = (hi >>> 8) ^ T_HI[idx]!;
  }
  reg.lo = lo;
  reg.hi = hi;
}

/** Slicing-by-8 over little-endian words: w32[2j] holds bytes 8j..8j+3, w32[2j+1] bytes 8j+4..8j+7. */
function words(reg: Crc64Register, w32: Int32Array): void {
  let lo = reg.lo;
  let hi = reg.hi;
  const m = w32.length;
  for (let w = 0; w < m; w += 2) {
    const a = lo ^ w32[w]!;
    const b = hi ^ w32[w + 1]!;
    // The first byte of the eight has the most bytes still to pass through: table 7; the last, table 0.
    lo =
      T_LO[1792 + (a & 0xff)]! ^
      T_LO[1536 + ((a >>> 8) & 0xff)]! ^
      T_LO[1280 + ((a >>> 16) & 0xff)]! ^
      T_LO[1024 + (a >>> 24)]! ^
      T_LO[768 + (b & 0xff)]! ^
      T_LO[512 + ((b >>> 8) & 0xff)]! ^
      T_LO[256 + ((b >>> 16) & 0xff)]! ^
      T_LO[b >>> 24]!;
    hi =
      T_HI[1792 + (a & 0xff)]! ^
      T_HI[1536 + ((a >>> 8) & 0xff)]! ^
      T_HI[1280 + ((a >>> 16) & 0xff)]! ^
      T_HI[1024 + (a >>> 24)]! ^
      T_HI[768 + (b & 0xff)]! ^
      T_HI[512 + ((b >>> 8) & 0xff)]! ^
      T_HI[256 + ((b >>> 16) & 0xff)]! ^
      T_HI[b >>> 24]!;
  }
  reg.lo = lo;
  reg.hi = hi;
}
