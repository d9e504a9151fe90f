/**
 * CRC-64 throughput alone: the JavaScript slicing-by-8 (crc64-js.ts: the fallback, the same loop as the Crc64 of
 * before WebAssembly) against the WebAssembly loop by 8, 16 and 32 (crc64-wasm.ts, the copy into wasm memory
 * included) and the Crc64 class as the copy engine uses it.
 *
 * 256 MiB of random bytes per variant and chunk size (64 KiB and 16 KiB chunks, at an odd byteOffset), run as 64
 * passes of 4 MiB with the variants taking turns; the best pass counts, so another process that takes the CPU for
 * a while (a shared 2-core machine) costs some passes, not the result. The data is not in cache: each pass reads
 * 4 MiB that no pass read in the last 252 MiB.
 *
 *   npx tsx test/bench/crc64-speed.ts
 */
import { randomFillSync } from 'node:crypto';
import { Crc64 } from '../../functions/core/integrity/crc64.js';
import { updateJs } from '../../functions/core/integrity/crc64-js.js';
import type { Crc64Step } from '../../functions/core/integrity/crc64-tables.js';
import { createWasmStep } from '../../functions/core/integrity/crc64-wasm.js';
import { fmt, mibPerSec, table } from './stats.js';

const MIB = 1024 * 1024;
const TOTAL = 256 * MIB;
const PASSES = 64;
const body = randomFillSync(Buffer.alloc(TOTAL + 64));

/** Runs chunks through a variant and gives the CRC. */
type Run = (chunks: readonly Buffer[]) => bigint;

const viaStep =
  (step: Crc64Step): Run =>
  (chunks) => {
    const reg = { lo: -1, hi: -1 };
    for (const chunk of chunks) step(reg, chunk);
    return (BigInt(~reg.hi >>> 0) << 32n) | BigInt(~reg.lo >>> 0);
  };

const variants: Array<[string, Run]> = [
  ['JavaScript slicing-by-8 (the old Crc64 loop)', viaStep(updateJs)],
  ['wasm slicing-by-8 (two streams)', viaStep(createWasmStep(8)!)],
  ['wasm slicing-by-16 (two streams)', viaStep(createWasmStep(16)!)],
  ['wasm slicing-by-32 (two streams)', viaStep(createWasmStep(32)!)],
  [
    'Crc64 class (wasm slicing-by-16)',
    (chunks) => {
      const c = new Crc64();
      for (const chunk of chunks) c.update(chunk);
      return c.digest();
    },
  ],
];

/** The chunks of region r of the body (PASSES regions of TOTAL / PASSES bytes). */
function region(r: number, size: number): Buffer[] {
  const perRegion = TOTAL / PASSES / size;
  return Array.from({ length: perRegion }, (_, i) => {
    const off = 3 + ((r % PASSES) * perRegion + i) * size;
    return body.subarray(off, off + size);
  });
}

/** Best pass of each variant in MiB/s, after checking that all give the same CRC. */
function measure(size: number): number[] {
  const crcs = new Set(variants.map(([, run]) => run(region(0, size))));
  if (crcs.size !== 1)
    throw new Error(`the variants disagree on ${size}-byte chunks: ${[...crcs].join(', ')}`);
  const best = variants.map(() => Number.POSITIVE_INFINITY);
  for (let pass = 0; pass < PASSES; pass++) {
    variants.forEach(([, run], v) => {
      // Each variant reads its own region, one not read for the last PASSES - 1 regions' worth (out of cache).
      const chunks = region(pass * variants.length + v, size);
      const t0 = performance.now();
      run(chunks);
      best[v] = Math.min(best[v]!, performance.now() - t0);
    });
  }
  return best.map((ms) => mibPerSec(TOTAL / PASSES, ms));
}

const rows: string[][] = [];
for (const size of [64 * 1024, 16 * 1024]) {
  const speeds = measure(size);
  variants.forEach(([label], v) => {
    rows.push([label, `${size / 1024} KiB`, fmt(speeds[v]!, 0), `${fmt(speeds[v]! / speeds[0]!, 2)}×`]);
  });
}
console.log(
  `CRC-64/XZ, ${TOTAL / MIB} MiB per variant, best of ${PASSES} passes (Node ${process.version})\n`,
);
console.log(table(['variant', 'chunks', 'MiB/s', 'vs JavaScript'], rows));
