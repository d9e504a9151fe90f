/**
 * Section 7 (issue 12): what a re-run of an archived job costs, beside the first copy of the same files. A worker
 * copies a set in batches of 100 (copyBatch, concurrency 8) into a fresh prefix, then runs the very same refs again
 * into that prefix, a few times. Per run: files/s and CPU, what 合思 was asked (the sandbox's own counters:
 * downloadurls calls and download GETs) and what S3 was asked, by operation (s3rver-process.ts tallies every
 * request it serves). Then the memory one job's key check (attachments/job-targets.ts) holds for the 200,000 lines
 * of the fan-out test.
 */
import type { EkuaibaoSandbox } from '../../infra/local/sandbox/types.js';
import type { BenchEnv } from './bench-env.js';
import { SMALL_SETS, type SmallSet } from './inputs.js';
import { runChild, type S3Process } from './processes.js';
import type { KeySetResult, RerunResult, RerunTask } from './rerun-child.js';
import { countsAcross, fmt, median, mib, table } from './stats.js';

export interface RerunPlan {
  /** Sets and how many of their files to copy. */
  sets: Array<[Exclude<SmallSet, 'api-refs'>, number]>;
  /** Re-runs after the first copy (median reported). */
  reruns: number;
  /** Lines for the key-check memory figure (the fan-out test has 200,000). */
  keySetLines: number;
}

export interface RerunContext {
  sandbox: EkuaibaoSandbox;
  s3: S3Process;
  env: BenchEnv;
  childBundle: string;
  emit(text?: string): void;
  /** Deletes what a case wrote under bench/<prefix>/. */
  clean(prefix: string): void;
}

interface Measured extends RerunResult {
  vendorCalls: number;
  downloads: number;
  s3: Record<string, number>;
}

const CONCURRENCY = 8;

async function measure(ctx: RerunContext, task: RerunTask): Promise<Measured> {
  await ctx.s3.takeCounts();
  const before = { ...ctx.sandbox.stats };
  const r = await runChild<RerunResult>(ctx.childBundle, task);
  const s3 = await ctx.s3.takeCounts();
  return {
    ...r,
    vendorCalls: ctx.sandbox.stats.downloadUrlCalls - before.downloadUrlCalls,
    downloads: ctx.sandbox.stats.downloadsStarted - before.downloadsStarted,
    s3,
  };
}

function row(label: string, count: number, runs: Measured[]): string[] {
  const ms = median(runs.map((r) => r.ms));
  const requests = runs.map((r) => Object.values(r.s3).reduce((a, b) => a + b, 0));
  return [
    label,
    String(count),
    String(runs.length),
    fmt(ms / 1000, 2),
    fmt(count / (ms / 1000), 0),
    fmt(median(runs.map((r) => r.cpuMs)) / count, 2),
    runs.map((r) => `${r.vendorCalls} / ${r.downloadUrlCalls}`).join(', '),
    runs.map((r) => String(r.downloads)).join(', '),
    countsAcross(runs.map((r) => r.s3)),
    fmt(median(requests) / count, 2),
  ];
}

export async function sectionRerun(ctx: RerunContext, plan: RerunPlan): Promise<void> {
  const rows: string[][] = [];
  for (const [set, count] of plan.sets) {
    const prefix = `rerun-${set}-${Date.now()}`;
    const task = { kind: 'rerun' as const, env: ctx.env, set, count, concurrency: CONCURRENCY, prefix };
    try {
      const first = await measure(ctx, { ...task, expect: 'copied' });
      const again: Measured[] = [];
      for (let i = 0; i < plan.reruns; i++) again.push(await measure(ctx, { ...task, expect: 'skipped' }));
      const size = SMALL_SETS[set].size;
      const what = `${count} × ${size >= 1024 * 1024 ? `${mib(size)} MiB` : `${size / 1024} KiB`}`;
      rows.push(row(`${what}: first copy`, count, [first]));
      rows.push(row(`${what}: re-run`, count, again));
    } finally {
      ctx.clean(prefix);
    }
  }
  const keys = await runChild<KeySetResult>(ctx.childBundle, { kind: 'key-set', lines: plan.keySetLines }, [
    '--expose-gc',
  ]);
  ctx.emit('## 7. A re-run of an archived job, beside its first copy');
  ctx.emit();
  ctx.emit(
    `A worker copies the set in batches of 100 (copyBatch, concurrency ${CONCURRENCY}: plan the keys, one ` +
      "ListObjectsV2 over the batch's key range, HEAD only the keys that exist, resolve and copy the rest with a " +
      'conditional PUT), first into a fresh prefix, then the same refs again, each run in a fresh process. ' +
      '"downloadurls calls" are the sandbox\'s own count / the client\'s; "download GETs" the sandbox\'s; S3 ' +
      'requests as s3rver served them (the batch reports the copy function also writes are not part of copyBatch).',
  );
  ctx.emit();
  ctx.emit(
    table(
      [
        'run',
        'files',
        'runs',
        'median s',
        'files/s',
        'CPU ms per file',
        'downloadurls calls (sandbox / client)',
        'download GETs',
        'S3 requests by operation',
        'S3 requests per file',
      ],
      rows,
    ),
  );
  ctx.emit();
  ctx.emit(
    `One job's key check (attachments/job-targets.ts) over the ${keys.lines.toLocaleString('en')} lines of the ` +
      `fan-out test: ${keys.keys.toLocaleString('en')} keys held in ${fmt(mib(keys.heapBytes), 1)} MiB of V8 heap ` +
      `(${fmt(keys.heapBytes / keys.lines, 0)} bytes a line, after a full GC), checked in ${fmt(keys.ms, 0)} ms ` +
      `(${fmt((1000 * keys.ms) / keys.lines, 1)} µs a line).`,
  );
  ctx.emit();
}
