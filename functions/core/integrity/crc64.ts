/**
 * CRC-64 as Aliyun OSS computes it for `x-oss-hash-crc64ecma`: the ECMA-182 polynomial in the reflected form
 * with init and xorout all ones — the catalogue's CRC-64/XZ (check value of "123456789" = 0x995DC9BBDF1939FA).
 *
 * Incremental (update per chunk while a body streams, digest at the end) and table-driven: slicing-by-16 in two
 * streams in WebAssembly (crc64-wasm.ts), about twice the speed of the JavaScript slicing-by-8 (crc64-js.ts) that
 * remains as the fallback for a runtime without WebAssembly (Node always has it) and as the reference in the tests.
 */
import { updateJs } from './crc64-js.js';
import type { Crc64Register, Crc64Step } from './crc64-tables.js';
import { createWasmStep } from './crc64-wasm.js';

/**
 * The loop every Crc64 runs its chunks through: one WebAssembly instance shared by all (calls are synchronous, and
 * each passes its register in and out), made on the first update rather than at import, so that a handler that never
 * checks a CRC does not pay for it in its cold start (~5–8 ms: assembling, compiling, filling the tables).
 */
let step: Crc64Step | undefined;

/** An incremental CRC-64/XZ (OSS's crc64ecma). `digest()` does not reset: more updates may follow. */
export class Crc64 {
  // The register, pre-inverted (init = all ones), as signed 32-bit halves.
  readonly #reg: Crc64Register = { lo: -1, hi: -1 };
  #length = 0;

  update(chunk: Uint8Array): this {
    step ??= createWasmStep() ?? updateJs;
    step(this.#reg, chunk);
    this.#length += chunk.length;
    return this;
  }

  /** Bytes seen so far. */
  get length(): number {
    return this.#length;
  }

  /** The CRC of everything seen so far, as an unsigned 64-bit value. */
  digest(): bigint {
    return (BigInt(~this.#reg.hi >>> 0) << 32n) | BigInt(~this.#reg.lo >>> 0);
  }

  /** The CRC as OSS writes it in `x-oss-hash-crc64ecma`: an unsigned decimal string. */
  digestDecimal(): string {
    return this.digest().toString(10);
  }
}

/** One-shot CRC-64/XZ of `data`. */
export function crc64(data: Uint8Array): bigint {
  return new Crc64().update(data).digest();
}

const MAX_U64 = (1n << 64n) - 1n;

/**
 * Reads an `x-oss-hash-crc64ecma` value: an unsigned 64-bit integer in decimal, without sign, spaces, leading
 * zeros or a fraction. Anything else (a malformed or hostile header) is undefined, never a throw.
 */
export function parseCrc64Header(value: string | undefined): bigint | undefined {
  if (value === undefined || !/^(0|[1-9][0-9]{0,19})$/.test(value)) return undefined;
  const n = BigInt(value);
  return n <= MAX_U64 ? n : undefined;
}
