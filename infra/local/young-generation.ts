/**
 * A ceiling on V8's young generation for the long-running local processes (the CLI and `npm start`), set from inside
 * the process.
 *
 * V8 doubles the young generation each time a scavenge finds much of it still alive, up to 64 MiB per semi-space
 * (128 MiB in all) on a 64-bit machine. A copy keeps many requests alive across scavenges, so it grows to the top: in
 * the CLI's copy of 2,000 receipts the young generation was 128 MiB of a 283 MiB peak RSS. `--max-semi-space-size`
 * caps it, but only as a flag given to Node at start, which the bin (run through `#!/usr/bin/env node`) cannot
 * portably pass. The growth step is read each time V8 grows the space, though (`--semi-space-growth-factor`): after
 * each garbage collection this looks at the young generation's size and sets the step to 1 (no growth) once the size
 * reached the ceiling, and back to V8's default when V8 shrank it below again.
 *
 * 16 MiB (8 MiB per semi-space) keeps scavenges rare enough to cost no CPU in the copy benchmark. Measured with the
 * same ceiling given as a flag, on the small set (`npm run bench -- --only=6 --pairs=1 --cases=small`): peak RSS
 * 265 → 197 MiB at 7.80 CPU-seconds; 16 MiB per semi-space gave 212 MiB at 7.95 s, 4 MiB gave 181 MiB at 8.59 s.
 * With this module instead of the flag the run looks the same (young generation 16 MiB at the peak; BENCHMARKS.md
 * §6). It may overshoot by one growth step: V8 grows during a collection and the check runs just after it.
 *
 * A `--max-semi-space-size` of the user's own (on the command line or in NODE_OPTIONS) wins: then nothing is changed.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

export const YOUNG_GENERATION_CEILING_BYTES = 16 * 1024 * 1024;

/** V8's own growth factor (its `--semi-space-growth-factor` default). */
const V8_GROWTH_FACTOR = 2;

const youngGenerationBytes = (): number =>
  v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

/** True when the user sized the young generation themselves. */
export function youngGenerationSizedByUser(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  return [...execArgv, nodeOptions].some((a) => /--(max|min)[-_]semi[-_]space[-_]size/.test(a));
}

/** Keeps the young generation at or below `ceilingBytes` for the rest of the process; returns a stop function. */
export function capYoungGeneration(ceilingBytes: number = YOUNG_GENERATION_CEILING_BYTES): () => void {
  if (youngGenerationSizedByUser()) return () => undefined;
  let frozen = false;
  const check = (): void => {
    const atCeiling = youngGenerationBytes() >= ceilingBytes;
    if (atCeiling === frozen) return;
    frozen = atCeiling;
    v8.setFlagsFromString(`--semi-space-growth-factor=${frozen ? 1 : V8_GROWTH_FACTOR}`);
  };
  check();
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
    if (frozen) v8.setFlagsFromString(`--semi-space-growth-factor=${V8_GROWTH_FACTOR}`);
  };
}
