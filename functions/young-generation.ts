/**
 * V8's young generation in the processes that move file bodies (the CLI, `npm start`, the copy function): a ceiling
 * on its size, and a sweep every 100 ms. Both are set from inside the process: the bin (run through
 * `#!/usr/bin/env node`) cannot pass V8 flags, and NODE_OPTIONS (the only way into the Lambda runtime) does not take
 * `--expose-gc`.
 *
 * The ceiling. V8 doubles the young generation each time a scavenge finds much of it still alive, up to 64 MiB per
 * semi-space (128 MiB in all) on a 64-bit machine. A copy keeps many requests alive across scavenges, so it grows to
 * the top: in the CLI's copy of 2,000 receipts the young generation was 128 MiB of a 283 MiB peak RSS.
 * `--max-semi-space-size` caps it, but only given to Node at start. The growth step, though, is read each time V8 grows
 * the space (`--semi-space-growth-factor`): after each garbage collection this looks at the young generation's size
 * and sets the step to 1 (no growth) once the size reached the ceiling, and back to V8's default when V8 shrank it
 * below again. It may overshoot by one step, to 32 MiB: the check runs after a collection, and a full collection that
 * follows at once the scavenge which reached the ceiling can grow the space once more before it.
 * 16 MiB (8 MiB per semi-space) costs no CPU in the copy benchmark (`npm run bench -- --only=6 --pairs=1
 * --cases=small`, the same ceiling given as a flag: peak RSS 265 → 197 MiB at 7.80 CPU-seconds; 16 MiB per semi-space
 * gave 212 MiB at 7.95 s, 4 MiB gave 181 MiB at 8.59 s).
 *
 * The sweep. Every read from a socket arrives as a fresh ArrayBuffer (64 KiB at most), copied into the file's buffer
 * and dead at once. Their JavaScript objects are small, so the young generation fills slowly and V8 scavenges after
 * hundreds of MiB of bodies; until then the dead buffers hold memory, and V8 answers their growing external memory
 * with full mark-compact collections. A minor collection every 100 ms frees them while they are young. Measured
 * (`npm run bench -- --only=6 --pairs=2 --cases=medium,large`, a sweep every 50 ms against none): 200 × 5 MiB
 * 6.85 → 5.64 CPU-seconds and 235 → 193 MiB peak RSS, 1 GiB 8.08 → 6.17 CPU-seconds and 186 → 154 MiB; the
 * 2,000 × 64 KiB set (bodies in pooled buffers) unchanged within the noise. Every 20 ms cost CPU; 200 ms did as
 * well as 50 (BENCHMARKS.md §6). A sweep of an idle process costs microseconds.
 * The collector is reached through V8's `--expose-gc` flag set at run time and fetched from a fresh context; where
 * that does not give it, there is no sweep.
 *
 * A `--max-semi-space-size` of the user's own (on the command line or in NODE_OPTIONS) wins: then the ceiling is
 * left to them (the sweep still runs).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

export const YOUNG_GENERATION_CEILING_BYTES = 16 * 1024 * 1024;
export const YOUNG_GENERATION_SWEEP_MS = 100;

/** V8's own growth factor (its `--semi-space-growth-factor` default). */
const V8_GROWTH_FACTOR = 2;

/** The young generation's size now (V8's new space). */
export const youngGenerationBytes = (): number =>
  v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

/** True when the user sized the young generation themselves. */
export function youngGenerationSizedByUser(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): boolean {
  return [...execArgv, nodeOptions].some((a) => /--(max|min)[-_]semi[-_]space[-_]size/.test(a));
}

/** Keeps the young generation at or below `ceilingBytes` for the rest of the process. */
export function capYoungGeneration(ceilingBytes: number = YOUNG_GENERATION_CEILING_BYTES): void {
  if (youngGenerationSizedByUser()) return;
  let frozen = false;
  const check = (): void => {
    const atCeiling = youngGenerationBytes() >= ceilingBytes;
    if (atCeiling === frozen) return;
    frozen = atCeiling;
    v8.setFlagsFromString(`--semi-space-growth-factor=${frozen ? 1 : V8_GROWTH_FACTOR}`);
  };
  check();
  new PerformanceObserver(check).observe({ entryTypes: ['gc'] });
}

type Collector = (options: { type: 'minor' | 'major' }) => void;

/** V8's collector, made reachable at run time; undefined where the runtime does not hand it out. */
function collector(): Collector | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as Collector;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Collector) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a minor collection every `everyMs` for the rest of the process (the timer keeps no process up). */
export function sweepYoungGeneration(everyMs: number = YOUNG_GENERATION_SWEEP_MS): void {
  const gc = collector();
  if (gc) setInterval(() => gc({ type: 'minor' }), everyMs).unref();
}

let tuned = false;

/** Both, once per process (later calls do nothing). */
export function tuneYoungGeneration(): void {
  if (tuned) return;
  tuned = true;
  capYoungGeneration();
  sweepYoungGeneration();
}
