/**
 * `npm run bench`: copy throughput, memory, vendor API efficiency, cold start and the CLI against rclone, each
 * beside its baseline, in one run on loopback (合思 sandbox → copier → s3rver). Not part of `npm test`: nothing here is a *.test.ts file and no
 * vitest project includes test/bench/.
 *
 * Processes: this one hosts the sandbox (the origin) and orchestrates; s3rver runs in a process of its own; every
 * measured case runs in a fresh child built from child.ts with the functions' own esbuild settings, so one case's
 * heap never pollutes another and the servers' memory is not counted.
 *
 * Sections: 1 large file, 2 memory, 3 many small files, 4 vendor API, 5 cold start, 6 CLI vs rclone, 8 the cost of
 * the integrity checks (integrity-cost.ts), 9 form packages beside the file-only sync (packages.ts): forms per
 * second and vendor calls per form; 7 is the re-run of an archived job (lanes).
 *
 * Flags: --quick (smaller sets, single repeats, no 4 GiB), --only=1,3 (sections), --out=FILE (Markdown report),
 * --profile[=DIR] (section 6: CPU profile of the CLI on the small case, else the first case run; DIR keeps the raw
 * .cpuprofile),
 * --cases=small,medium,large,latency (section 6: only these cases), --pairs=N (section 6: N pairs per case instead
 * of 3, or 1 with --quick). Section 7: a re-run beside the first copy.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { choosePartSize, DEFAULT_PART_BYTES } from '../../functions/core/copy/part-size.js';
import { esbuildOptions } from '../../infra/bundling.js';
import { startEkuaibaoSandbox } from '../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../infra/local/sandbox/types.js';
import type {
  ApiCallsRow,
  BatchResult,
  BenchEnv,
  ChildTask,
  LargeMode,
  LargeResult,
  LatencyResult,
  LatencyVariant,
  Timing,
} from './child.js';
import {
  buildFunctionBundles,
  measureLoadTimes,
  writeEmptyHandler,
  writeImportLoader,
} from './cold-start.js';
import {
  GIB,
  LARGE_SIZES,
  type LargeSize,
  largeFile,
  MIB,
  PART_QUEUE_SIZE,
  SMALL_SETS,
  type SmallSet,
  setFiles,
} from './inputs.js';
import { sectionIntegrity } from './integrity-cost.js';
import { sectionPackages } from './packages.js';
import { processCpuMs, runChild, type S3Process, startS3Process } from './processes.js';
import { sectionRerun } from './rerun.js';
import { fmt, median, mib, mibPerSec, percentile, table } from './stats.js';
import type { CaseId } from './verdicts.js';
import { sectionVersusRclone } from './versus-rclone.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const only = argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
  .map(Number);
const outFile = argv.find((a) => a.startsWith('--out='))?.slice(6);
/** Extra node flags for the measured children, e.g. --child-flags=--max-semi-space-size=1 (exploration). */
const childFlags = (argv.find((a) => a.startsWith('--child-flags='))?.slice(14) ?? '')
  .split(' ')
  .filter(Boolean);
const runs = (section: number): boolean => !only || only.includes(section);
/** Section 6: --profile adds a CPU profile of the CLI on the small case (--profile=DIR keeps the raw file); --cases= picks cases. */
const profileArg = argv.find((a) => a === '--profile' || a.startsWith('--profile='));
const casesArg = argv.find((a) => a.startsWith('--cases='))?.slice(8);
const pairsArg = argv.find((a) => a.startsWith('--pairs='))?.slice(8);
const versusFlags = {
  ...(pairsArg ? { pairs: parsePairs(pairsArg) } : {}),
  profile: profileArg !== undefined,
  ...(profileArg?.startsWith('--profile=') ? { profileDir: resolve(profileArg.slice(10)) } : {}),
  ...(casesArg ? { cases: parseCases(casesArg) } : {}),
};

function parsePairs(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 20)
    throw new Error(`--pairs: a whole number from 1 to 20 (got ${text})`);
  return n;
}

function parseCases(text: string): CaseId[] {
  const known: CaseId[] = ['small', 'medium', 'large', 'latency'];
  const asked = text.split(',').filter(Boolean);
  const unknown = asked.filter((c) => !known.includes(c as CaseId));
  if (unknown.length > 0)
    throw new Error(`--cases: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
  return asked as CaseId[];
}

const PLAN = QUICK
  ? {
      largeRepeats: 1,
      memorySizes: ['256MiB', '1GiB'] as LargeSize[],
      naiveSizes: ['256MiB'] as LargeSize[],
      memoryRepeats: 1,
      queueSweep: [1],
      sets: { 'small-64KiB': 500, 'medium-5MiB': 50 } as Record<Exclude<SmallSet, 'api-refs'>, number>,
      concurrencies: [1, 8, 32],
      batchRepeats: 1,
      headline: [1, 8],
      apiCounts: [1, 100, 101, 1_000, 5_000],
      latency: { rounds: 1, c1: 100, c50: 500 },
      integrity: { repeats: 1, smallCount: 500 },
      loadRuns: 5,
      packages: { forms: 100 },
      versus: {
        pairs: 1,
        smallFiles: 500,
        mediumFiles: 50,
        largeSize: '256MiB' as LargeSize,
        latencyFiles: 500,
        latencyMs: 50,
        startupRuns: 3,
        ...versusFlags,
      },
      rerun: {
        sets: [
          ['small-64KiB', 500],
          ['medium-5MiB', 50],
        ] as Array<[Exclude<SmallSet, 'api-refs'>, number]>,
        reruns: 1,
        keySetLines: 200_000,
      },
    }
  : {
      // One 1 GiB run varies by ±6 % on the shared machine; five give a steadier median for the 0.95 verdict.
      largeRepeats: 5,
      memorySizes: ['256MiB', '1GiB', '4GiB'] as LargeSize[],
      naiveSizes: ['256MiB', '1GiB'] as LargeSize[],
      // Peaks repeat within a few MiB run to run; 1 GiB cases reuse section 1's three runs.
      memoryRepeats: 2,
      queueSweep: [1, 2],
      sets: { 'small-64KiB': 2_000, 'medium-5MiB': 200 } as Record<Exclude<SmallSet, 'api-refs'>, number>,
      concurrencies: [1, 4, 8, 16, 32],
      batchRepeats: 3,
      /** The headline pair (a worker at its default 8 vs one at a time) gets every repeat; the sweep gets one. */
      headline: [1, 8],
      apiCounts: [1, 100, 101, 1_000, 5_000],
      latency: { rounds: 3, c1: 200, c50: 1_000 },
      integrity: { repeats: 3, smallCount: 2_000 },
      loadRuns: 15,
      // Section 9: a few hundred forms, about 2,500 objects in packages mode.
      packages: { forms: 300 },
      // Section 6 (issue 17): three pairs per case is the least a median means anything on this machine.
      versus: {
        pairs: 3,
        smallFiles: 2_000,
        mediumFiles: 200,
        largeSize: '1GiB' as LargeSize,
        latencyFiles: 2_000,
        latencyMs: 50,
        startupRuns: 10,
        ...versusFlags,
      },
      // Section 7 (issue 12): the first copy once, the re-run three times (a re-run changes nothing, so repeats).
      rerun: {
        sets: [
          ['small-64KiB', 2_000],
          ['medium-5MiB', 200],
        ] as Array<[Exclude<SmallSet, 'api-refs'>, number]>,
        reruns: 3,
        keySetLines: 200_000,
      },
    };

const BUCKET = 'ekb-bench';
const report: string[] = [];

function emit(text = ''): void {
  process.stdout.write(`${text}\n`);
  report.push(text);
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
}

function machine(): void {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  emit('## Machine');
  emit();
  emit(
    table(
      ['what', 'value'],
      [
        ['date', new Date().toISOString()],
        ['command', `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`],
        ['nproc', String(os.availableParallelism())],
        ['CPU', cpu],
        [
          'memory',
          `${fmt(os.totalmem() / GIB, 1)} GiB total, ${fmt(os.freemem() / GIB, 1)} GiB free at start`,
        ],
        ['Node', process.version],
        ['OS', `${os.type()} ${os.release()} ${os.arch()}`],
        ['load average at start (1, 5, 15 min)', loadAverage()],
      ],
    ),
  );
  emit();
}

// ---- sections 1 and 2: one large file ---------------------------------------------------------------------------

interface Ctx {
  sandbox: EkuaibaoSandbox;
  s3: S3Process;
  env: BenchEnv;
  childBundle: string;
  seq: number;
}

/** Deletes what a case wrote: s3rver keeps objects as files under <directory>/<bucket>/<key path>. */
function cleanPrefix(ctx: Ctx, prefix: string): void {
  rmSync(join(ctx.s3.directory, BUCKET, 'bench', prefix), { recursive: true, force: true });
  // Flush the dirty pages s3rver left (a 1 GiB object is 2 GiB of writes: parts, then the assembled object), so
  // their write-back does not slow down whichever case runs next (measured: ~10 % on the case after a copy).
  execSync('sync');
}

type Measured<T extends { ms: number; cpuMs: number }> = T & { cpu: CpuShare };

async function large(
  ctx: Ctx,
  mode: LargeMode,
  size: LargeSize,
  queueSize = PART_QUEUE_SIZE,
): Promise<Measured<LargeResult>> {
  const prefix = `large-${mode}-${size}-${++ctx.seq}`;
  const f = largeFile(size);
  const task: ChildTask = {
    kind: 'large',
    mode,
    env: ctx.env,
    file: { id: f.id, key: f.key, size: f.size },
    prefix,
    queueSize,
  };
  try {
    // --expose-gc only lets the child collect once after the clock stops (heap left behind); it changes nothing before.
    return await withCpu(ctx, () =>
      runChild<LargeResult>(ctx.childBundle, task, ['--expose-gc', ...childFlags]),
    );
  } finally {
    cleanPrefix(ctx, prefix);
  }
}

/** CPU each process spent during one measured child, as % of one core over the child's timed span. */
interface CpuShare {
  copier: number;
  origin: number;
  s3rver: number;
}

/** Runs a child and adds the CPU the origin (this process) and s3rver used meanwhile (their whole span). */
async function withCpu<T extends { ms: number; cpuMs: number }>(
  ctx: Ctx,
  run: () => Promise<T>,
): Promise<T & { cpu: CpuShare }> {
  const origin0 = process.cpuUsage();
  const s3Before = processCpuMs(ctx.s3.pid);
  const r = await run();
  const o = process.cpuUsage(origin0);
  const pct = (cpuMs: number) => (100 * cpuMs) / r.ms;
  return {
    ...r,
    cpu: {
      copier: pct(r.cpuMs),
      origin: pct((o.user + o.system) / 1000),
      s3rver: pct(processCpuMs(ctx.s3.pid) - s3Before),
    },
  };
}

function cpuCell(rs: ReadonlyArray<{ cpu: CpuShare }>): string {
  const m = (k: keyof CpuShare) => fmt(median(rs.map((r) => r.cpu[k])), 0);
  return `${m('copier')} / ${m('origin')} / ${m('s3rver')}`;
}

function ensureDisk(dir: string, bytes: number): void {
  const s = statfsSync(dir);
  const free = s.bavail * s.bsize;
  if (free < bytes) {
    throw new Error(`need ${fmt(bytes / GIB)} GiB free under ${dir} for s3rver, have ${fmt(free / GIB)} GiB`);
  }
}

async function sectionLarge(ctx: Ctx): Promise<Map<string, Measured<LargeResult>[]>> {
  const all = new Map<string, Measured<LargeResult>[]>();
  const add = (mode: LargeMode, size: LargeSize, r: Measured<LargeResult>): void => {
    const k = `${mode}:${size}`;
    all.set(k, [...(all.get(k) ?? []), r]);
  };
  const modes: LargeMode[] = ['ceiling', 'pipe', 'engine'];
  // Rotate the order every repeat so drift on the shared machine does not favour one contender.
  for (let i = 0; i < PLAN.largeRepeats; i++) {
    for (let j = 0; j < modes.length; j++) {
      const mode = modes[(i + j) % modes.length] as LargeMode;
      add(mode, '1GiB', await large(ctx, mode, '1GiB'));
    }
  }
  const ms = (mode: LargeMode) => median((all.get(`${mode}:1GiB`) ?? []).map((r) => r.ms));
  const speed = (mode: LargeMode) => mibPerSec(GIB, ms(mode));
  const pipe = speed('pipe');
  const engine = speed('engine');
  const ratio = engine / pipe;
  emit('## 1. Large file: 1 GiB from the sandbox into s3rver');
  emit();
  emit(
    `Median of ${PLAN.largeRepeats} run(s) each, one fresh process per run. Part size ${mib(choosePartSize(GIB))} MiB, ` +
      `${PART_QUEUE_SIZE} parts in flight.`,
  );
  emit();
  emit(
    table(
      ['contender', 'median s', 'MiB/s', 'vs minimal pipe', 'CPU % copier / origin / s3rver', 'runs (s)'],
      (
        [
          ['ceiling: undici GET, body discarded', 'ceiling'],
          ['minimal pipe: undici body → lib-storage Upload', 'pipe'],
          ['copy engine: copyBatch (resolve, HEAD, GET, count, Upload)', 'engine'],
        ] as Array<[string, LargeMode]>
      ).map(([label, mode]) => [
        label,
        fmt(ms(mode) / 1000, 2),
        fmt(speed(mode), 0),
        `${fmt(speed(mode) / pipe, 3)}×`,
        cpuCell(all.get(`${mode}:1GiB`) ?? []),
        (all.get(`${mode}:1GiB`) ?? []).map((r) => fmt(r.ms / 1000, 2)).join(', '),
      ]),
    ),
  );
  emit();
  // Each repeat ran pipe and engine back to back: the median of per-repeat ratios cancels slow patches of the machine.
  const pipeRuns = all.get('pipe:1GiB') ?? [];
  const paired = median((all.get('engine:1GiB') ?? []).map((e, i) => (pipeRuns[i]?.ms ?? Number.NaN) / e.ms));
  emit(
    `Engine / minimal pipe = ${fmt(ratio, 3)} (ratio of medians; median of per-repeat ratios ${fmt(paired, 3)}). ` +
      `Target ≥ 0.95: ${ratio >= 0.95 ? 'PASS' : 'MISS'}`,
  );
  emit();
  return all;
}

const COPIER_LABELS: Record<LargeMode, string> = {
  ceiling: 'ceiling (download only)',
  engine: 'copy engine',
  pipe: 'minimal pipe',
  naive: 'naive: fetch → arrayBuffer → PutObject',
};

async function sectionMemory(ctx: Ctx, fromLarge: Map<string, Measured<LargeResult>[]>): Promise<void> {
  const partSize = choosePartSize(4 * GIB, DEFAULT_PART_BYTES);
  const target = (queue: number) => 64 * MIB + partSize * queue;
  const targetBytes = target(PART_QUEUE_SIZE);
  const rows: string[][] = [];
  const peaks: Array<{ mode: string; size: LargeSize; hwm: number; idle: number }> = [];
  const cases: Array<[LargeMode, LargeSize, number]> = [];
  for (const size of PLAN.memorySizes) {
    cases.push(['engine', size, PART_QUEUE_SIZE]);
    if (size !== '4GiB') cases.push(['pipe', size, PART_QUEUE_SIZE]);
  }
  // How memory follows the parts-in-flight setting (EKB_PART_CONCURRENCY): the same copy with fewer parts in flight.
  for (const queue of PLAN.queueSweep) cases.push(['engine', '256MiB', queue]);
  for (const size of PLAN.naiveSizes) cases.push(['naive', size, PART_QUEUE_SIZE]);
  for (const [mode, size, queue] of cases) {
    const repeats = size === '4GiB' ? 1 : PLAN.memoryRepeats;
    const results = queue === PART_QUEUE_SIZE ? [...(fromLarge.get(`${mode}:${size}`) ?? [])] : [];
    ensureDisk(ctx.s3.directory, 2.2 * LARGE_SIZES[size]);
    while (results.length < repeats) results.push(await large(ctx, mode, size, queue));
    const hwm = median(results.map((r) => r.vmHwm));
    const idle = median(results.map((r) => r.idleRss));
    if (queue === PART_QUEUE_SIZE) peaks.push({ mode, size, hwm, idle });
    rows.push([
      mode === 'naive' ? COPIER_LABELS[mode] : `${COPIER_LABELS[mode]}, ${queue} parts in flight`,
      size,
      fmt(mib(idle), 0),
      fmt(mib(hwm), 0),
      fmt(mib(hwm - idle), 0),
      fmt(mib(median(results.map((r) => r.peakArrayBuffers))), 0),
      fmt(mib(median(results.map((r) => r.peakHeapTotal))), 0),
      fmt(mib(median(results.map((r) => r.heapUsedAfter - r.heapUsedBefore))), 1),
      fmt(mibPerSec(LARGE_SIZES[size], median(results.map((r) => r.ms))), 0),
      mode === 'naive' ? '—' : `${hwm <= target(queue) ? 'PASS' : 'MISS'} (${fmt(mib(target(queue)), 0)})`,
      String(results.length),
    ]);
  }
  // Control: the same process holding only ever ONE part-sized Buffer, allocated 128 times (1 GiB through it).
  const alloc = await runChild<LargeResult>(ctx.childBundle, { kind: 'alloc', partSize, count: 128 });
  rows.push([
    'control: one 8 MiB Buffer alive at a time, 128 allocations',
    '—',
    fmt(mib(alloc.idleRss), 0),
    fmt(mib(alloc.vmHwm), 0),
    fmt(mib(alloc.vmHwm - alloc.idleRss), 0),
    fmt(mib(alloc.peakArrayBuffers), 0),
    fmt(mib(alloc.peakHeapTotal), 0),
    '—',
    '—',
    '—',
    '1',
  ]);
  emit('## 2. Memory for the same copy: peak RSS of the copying process');
  emit();
  emit(
    `Target: peak RSS under 64 MiB + part size × parts in flight = 64 + ${mib(partSize)} × ${PART_QUEUE_SIZE} = ` +
      `${fmt(mib(targetBytes), 0)} MiB, flat as the file grows. Peak = VmHWM of a fresh process per run (median of runs); ` +
      '"idle" is the RSS after modules, clients and sockets are set up, before the first byte.',
  );
  emit();
  emit(
    table(
      [
        'copier',
        'file',
        'idle RSS MiB',
        'peak RSS MiB',
        'peak − idle MiB',
        'peak buffers MiB',
        'peak V8 heap MiB',
        'heap left after GC MiB',
        'MiB/s',
        'target MiB',
        'runs',
      ],
      rows,
    ),
  );
  emit();
  const engine = peaks.filter((p) => p.mode === 'engine');
  if (engine.length > 1) {
    const spread = Math.max(...engine.map((p) => p.hwm)) - Math.min(...engine.map((p) => p.hwm));
    const sizes = engine.map((p) => LARGE_SIZES[p.size]);
    const grown = Math.max(...sizes) - Math.min(...sizes);
    const bound = partSize * PART_QUEUE_SIZE;
    emit(
      `Copy engine peak across ${engine.map((p) => p.size).join(', ')}: spread ${fmt(mib(spread), 0)} MiB while the ` +
        `file grew by ${fmt(mib(grown), 0)} MiB (${fmt((100 * spread) / grown, 2)} %): ` +
        `${spread <= bound ? 'flat' : 'NOT flat'} (criterion: spread ≤ part size × parts in flight = ${fmt(mib(bound), 0)} MiB).`,
    );
  }
  const naive = peaks.filter((p) => p.mode === 'naive');
  if (naive.length > 0) {
    const factor = Math.max(...naive.map((p) => (p.hwm - p.idle) / LARGE_SIZES[p.size]));
    emit(
      `The naive copier's peak grows with the file: about ${fmt(factor, 1)}× the file size above its idle RSS ` +
        '(the downloaded chunks, the ArrayBuffer they are concatenated into, and the request body).',
    );
    if (!PLAN.naiveSizes.includes('4GiB')) {
      emit(
        `Naive at 4 GiB is not run: by that factor it would need ~${fmt(factor * 4, 0)} GiB of RSS on a machine ` +
          'shared with other jobs, beyond the 10,240 MB a Lambda function can have at all; S3 also caps a single ' +
          'PutObject at 5 GiB. The naive way cannot copy the large attachments this archive must handle.',
      );
    }
  }
  emit();
}

// ---- section 3: many small files ---------------------------------------------------------------------------------

async function sectionBatches(ctx: Ctx): Promise<BatchResult[]> {
  const rows: string[][] = [];
  const keep: Measured<BatchResult>[] = [];
  for (const [set, count] of Object.entries(PLAN.sets) as Array<[SmallSet, number]>) {
    const byC = new Map<number, Measured<BatchResult>[]>();
    for (let i = 0; i < PLAN.batchRepeats; i++) {
      // Rotate the concurrency order per repeat (drift on the shared machine).
      const order = PLAN.concurrencies.map(
        (_, j) => PLAN.concurrencies[(i + j) % PLAN.concurrencies.length] as number,
      );
      for (const concurrency of order) {
        if (i > 0 && !PLAN.headline.includes(concurrency)) continue;
        const prefix = `batch-${set}-c${concurrency}-${++ctx.seq}`;
        try {
          const r = await withCpu(ctx, () =>
            runChild<BatchResult>(ctx.childBundle, {
              kind: 'batch',
              env: ctx.env,
              set,
              count,
              concurrency,
              batchSize: 100,
              prefix,
            }),
          );
          byC.set(concurrency, [...(byC.get(concurrency) ?? []), r]);
          keep.push(r);
        } finally {
          cleanPrefix(ctx, prefix);
        }
      }
    }
    const one = median((byC.get(1) ?? []).map((r) => r.ms));
    for (const c of PLAN.concurrencies) {
      const rs = byC.get(c) ?? [];
      const ms = median(rs.map((r) => r.ms));
      const bytes = rs[0]?.bytes ?? 0;
      rows.push([
        `${count} × ${mib(SMALL_SETS[set].size) >= 1 ? `${mib(SMALL_SETS[set].size)} MiB` : `${SMALL_SETS[set].size / 1024} KiB`}`,
        String(c),
        fmt(ms / 1000, 2),
        fmt(count / (ms / 1000), 0),
        fmt(bytes / 1e6 / (ms / 1000), 1),
        `${fmt(one / ms, 2)}×`,
        cpuCell(rs),
        String(rs[0]?.downloadUrlCalls ?? 'n/a'),
        fmt(mib(median(rs.map((r) => r.vmHwm))), 0),
        rs.map((r) => fmt(r.ms / 1000, 1)).join(', '),
      ]);
    }
  }
  emit('## 3. Many small files: a worker (batches of 100) by concurrency');
  emit();
  emit(
    `Each run copies the whole set with copyBatch, one queue message (100 refs) after another, in a fresh process; ` +
      `median of ${PLAN.batchRepeats} run(s) for concurrency ${PLAN.headline.join(' and ')}, one run for the rest of the sweep. Baseline: concurrency 1 (one file at a time); the copy function's ` +
      'default is 8.',
  );
  emit();
  emit(
    table(
      [
        'set',
        'concurrency',
        'median s',
        'files/s',
        'MB/s',
        'vs one at a time',
        'CPU % copier / origin / s3rver',
        'downloadurls calls',
        'peak RSS MiB',
        'runs (s)',
      ],
      rows,
    ),
  );
  emit();
  return keep;
}

// ---- section 8: the cost of the integrity checks (integrity-cost.ts) -------------------------------------------

function integrityDeps(ctx: Ctx): Parameters<typeof sectionIntegrity>[0] {
  return {
    emit,
    sandbox: ctx.sandbox,
    runHash: (task) => runChild(ctx.childBundle, task),
    runLarge: (mode) => large(ctx, mode, '1GiB'),
    async runSmall(count, concurrency) {
      const prefix = `integrity-small-c${concurrency}-${++ctx.seq}`;
      try {
        return await runChild<BatchResult>(ctx.childBundle, {
          kind: 'batch',
          env: ctx.env,
          set: 'small-64KiB',
          count,
          concurrency,
          batchSize: 100,
          prefix,
        });
      } finally {
        cleanPrefix(ctx, prefix);
      }
    },
  };
}

// ---- section 4: vendor API efficiency ------------------------------------------------------------------------------

async function sectionApi(ctx: Ctx, batches: BatchResult[]): Promise<void> {
  ctx.sandbox.resetStats();
  const rows = await runChild<ApiCallsRow[]>(ctx.childBundle, {
    kind: 'api-calls',
    env: ctx.env,
    counts: PLAN.apiCounts,
  });
  const st = ctx.sandbox.stats;
  emit('## 4. Vendor API efficiency');
  emit();
  emit(
    'One process resolves N refs through the client, then through the resolve handler (same client); calls counted ' +
      'by the client and cross-checked against the sandbox.',
  );
  emit();
  emit(
    table(
      ['refs N', 'via', 'token calls', 'downloadurls calls', 'expected ceil(N/100)', 'OK'],
      rows.map((r) => [
        String(r.refs),
        r.via,
        String(r.tokenFetches),
        String(r.downloadUrlCalls),
        String(Math.ceil(r.refs / 100)),
        r.downloadUrlCalls === Math.ceil(r.refs / 100) ? 'yes' : 'NO',
      ]),
    ),
  );
  emit();
  const totalCalls = rows.reduce((a, r) => a + r.downloadUrlCalls, 0);
  const totalItems = rows.reduce((a, r) => a + r.refs, 0);
  emit(
    `Sandbox saw: ${st.tokenCalls} token call(s) for the whole process, ${st.downloadUrlCalls} downloadurls calls ` +
      `(client counted ${totalCalls}), ${st.downloadUrlItems} items (sent ${totalItems}), at most ` +
      `${st.maxItemsPerCall} per call.`,
  );
  if (batches.length > 0) {
    const b = batches[0] as BatchResult;
    emit(
      `Copy worker (section 3): ${b.files} files → ${b.tokenFetches} token call(s), ${b.downloadUrlCalls} downloadurls ` +
        `calls (ceil(${b.files}/100) = ${Math.ceil(b.files / 100)}).`,
    );
  }
  emit();

  const levels = [
    { concurrency: 1, requests: PLAN.latency.c1 },
    { concurrency: 50, requests: PLAN.latency.c50 },
  ];
  const latencyRows: string[][] = [];
  for (const refsPerRequest of [1, 100]) {
    const lat = await runChild<LatencyResult>(ctx.childBundle, {
      kind: 'latency',
      env: ctx.env,
      refsPerRequest,
      levels,
      rounds: PLAN.latency.rounds,
    });
    for (const level of levels) {
      const s = lat.samples[String(level.concurrency)] as Record<LatencyVariant, Timing[]>;
      const pq = (xs: number[]) => `${fmt(percentile(xs, 50), 2)} / ${fmt(percentile(xs, 99), 2)}`;
      const total = (v: LatencyVariant) => pq(s[v].map((t) => t.totalMs));
      const own = (v: LatencyVariant) => pq(s[v].map((t) => t.totalMs - t.upstreamMs));
      latencyRows.push([
        String(refsPerRequest),
        String(level.concurrency),
        String(s.handler.length),
        total('raw'),
        pq(s.handler.map((t) => t.upstreamMs)),
        total('client'),
        total('handler'),
        own('client'),
        own('handler'),
      ]);
    }
  }
  emit('### Resolve function latency added over the sandbox (ms, p50 / p99)');
  emit();
  emit(
    "The handler is invoked in-process with an API Gateway v2 event, as the Lambda runtime calls it (API Gateway's " +
      'own hop cannot be reproduced locally, and timing it through the local HTTP adapter would add that adapter ' +
      'instead). "Added" is measured per request: its total minus the time its one downloadurls call spent upstream ' +
      "(undici request created → answer fully received, from undici's diagnostics channel), so queueing in the " +
      'sandbox does not leak into it. Baseline "raw POST": the same downloadurls call sent with bare undici. ' +
      'The callers run in one child process, the sandbox in another; order rotated per round.',
  );
  emit();
  emit(
    table(
      [
        'refs/request',
        'concurrent',
        'requests',
        'sandbox: raw POST',
        'sandbox: inside handler',
        'client call',
        'resolve handler',
        'added by client',
        'added by handler',
      ],
      latencyRows,
    ),
  );
  emit();
}

// ---- section 5: cold start -----------------------------------------------------------------------------------------

async function sectionColdStart(tmp: string): Promise<void> {
  const dir = join(tmp, 'bundles');
  mkdirSync(dir, { recursive: true });
  const bundles = await buildFunctionBundles(dir);
  const empty = writeEmptyHandler(dir);
  const loader = writeImportLoader(dir);
  const times = await measureLoadTimes(loader, [empty, ...bundles], PLAN.loadRuns);
  const emptyT = times[0] as (typeof times)[number];
  emit('## 5. Cold start: bundle size and module load time');
  emit();
  emit(
    `Built with infra/bundling.ts (esbuild, ESM, minified, all dependencies bundled). Load = median of ` +
      `${PLAN.loadRuns} fresh \`node\` processes importing the bundle; "import" is the time inside \`await import()\`, ` +
      '"process" is spawn to exit as the parent sees it. Lambda runs with --enable-source-maps (NODE_OPTIONS).',
  );
  emit();
  emit(
    table(
      [
        'module',
        'size KiB',
        'gzip KiB',
        'map KiB',
        'import ms',
        'import ms (source maps)',
        'process ms',
        'import over empty ms',
        'process over empty ms',
      ],
      [empty, ...bundles].map((b, i) => {
        const t = times[i] as (typeof times)[number];
        return [
          b.name,
          fmt(b.bytes / 1024, 1),
          fmt(b.gzipBytes / 1024, 1),
          fmt(b.mapBytes / 1024, 1),
          fmt(t.plain.importMs, 1),
          fmt(t.lambdaFlags.importMs, 1),
          fmt(t.plain.wallMs, 0),
          fmt(t.plain.importMs - emptyT.plain.importMs, 1),
          fmt(t.plain.wallMs - emptyT.plain.wallMs, 0),
        ];
      }),
    ),
  );
  emit();
}

// ---- main ----------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  emit(`# ekb-archive benchmarks${QUICK ? ' (quick)' : ''}`);
  emit();
  machine();
  const tmp = mkdtempSync(join(os.tmpdir(), 'ekb-bench-'));
  const childBundle = join(tmp, 'child.mjs');
  await build({
    ...esbuildOptions(fileURLToPath(new URL('./child.ts', import.meta.url)), childBundle),
    sourcemap: false,
  });

  const needsServers = runs(1) || runs(2) || runs(3) || runs(4) || runs(6) || runs(7) || runs(8) || runs(9);
  let sandbox: EkuaibaoSandbox | undefined;
  let s3: S3Process | undefined;
  let serverCtx: Ctx | undefined;
  try {
    if (needsServers) {
      sandbox = await startEkuaibaoSandbox({ files: [], forms: [] });
      for (const size of Object.keys(LARGE_SIZES) as LargeSize[]) sandbox.addFile(largeFile(size));
      for (const set of Object.keys(SMALL_SETS) as SmallSet[])
        for (const f of setFiles(set)) sandbox.addFile(f);
      const s3dir = join(tmp, 's3');
      mkdirSync(s3dir, { recursive: true });
      s3 = await startS3Process(s3dir, BUCKET);
      const ctx: Ctx = {
        sandbox,
        s3,
        childBundle,
        seq: 0,
        env: {
          ekbBaseUrl: sandbox.baseUrl,
          appKey: sandbox.appKey,
          appSecurity: sandbox.appSecurity,
          s3Endpoint: s3.endpoint,
          bucket: BUCKET,
        },
      };
      let largeResults = new Map<string, Measured<LargeResult>[]>();
      if (runs(1)) largeResults = await sectionLarge(ctx);
      if (runs(2)) await sectionMemory(ctx, largeResults);
      let batches: BatchResult[] = [];
      if (runs(3)) batches = await sectionBatches(ctx);
      if (runs(4)) await sectionApi(ctx, batches);
      if (runs(8)) await sectionIntegrity(integrityDeps(ctx), PLAN.integrity);
      serverCtx = ctx;
    }
    if (runs(5)) await sectionColdStart(tmp);
    if (runs(6) && sandbox && s3) {
      await sectionVersusRclone({ sandbox, s3, bucket: BUCKET, tmp, emit }, PLAN.versus);
    }
    const rerunCtx = serverCtx;
    if (runs(7) && rerunCtx) {
      await sectionRerun({ ...rerunCtx, emit, clean: (prefix) => cleanPrefix(rerunCtx, prefix) }, PLAN.rerun);
    }
    if (runs(9) && s3) await sectionPackages({ s3, bucket: BUCKET, childBundle, emit }, PLAN.packages);
  } finally {
    await s3?.stop();
    await sandbox?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  emit(
    `Load average at end (1, 5, 15 min): ${loadAverage()}. Total bench time ${fmt((performance.now() - started) / 60_000, 1)} min.`,
  );
  let uptime = '';
  try {
    uptime = execSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    uptime = '';
  }
  if (uptime) emit(`uptime: ${uptime}`);
  if (outFile) writeFileSync(outFile, `${report.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
