/**
 * Section 7's measured cases, run inside the bench child (child.ts dispatches here): a worker copying a set in
 * batches of 100 the way the copy function does (plan → one listing → HEAD what exists → resolve the rest →
 * copy), either into a fresh prefix (first copy) or again into the same one (re-run); and the memory one job's key
 * check holds for the 200,000-line manifest of the fan-out test.
 */
import { createS3Sink } from '../../functions/aws/s3-sink.js';
import { JobTargets } from '../../functions/core/attachments/job-targets.js';
import { buildLanes } from '../../functions/core/attachments/lanes.js';
import { type CopyDeps, copyBatch } from '../../functions/core/copy/copy-batch.js';
import { createUndiciDownloader } from '../../functions/core/copy/undici-downloader.js';
import { silentLogger } from '../../functions/core/ports.js';
import { type BenchEnv, ekuaibaoClientFor, s3ClientFor } from './bench-env.js';
import { PART_QUEUE_SIZE, refOf, type SmallSet, setFiles } from './inputs.js';

export interface RerunTask {
  kind: 'rerun';
  env: BenchEnv;
  set: SmallSet;
  count: number;
  concurrency: number;
  prefix: string;
  /** What every ref must end as: a fresh prefix is copied, a filled one skipped. */
  expect: 'copied' | 'skipped';
}

export interface RerunResult {
  ms: number;
  cpuMs: number;
  files: number;
  bytes: number;
  /** Counted by the client in this process (the parent cross-checks the sandbox's own counters). */
  downloadUrlCalls: number;
  tokenFetches: number;
}

export interface KeySetTask {
  kind: 'key-set';
  lines: number;
}

export interface KeySetResult {
  lines: number;
  keys: number;
  /** V8 heap in use after a full GC, with the check holding every key, minus before it existed. */
  heapBytes: number;
  ms: number;
}

function liveHeap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

export async function runRerun(task: RerunTask): Promise<RerunResult> {
  const { env } = task;
  const client = ekuaibaoClientFor(env);
  const s3 = s3ClientFor(env);
  const downloader = createUndiciDownloader();
  const deps: CopyDeps = {
    resolver: client,
    sink: createS3Sink({ client: s3, bucket: env.bucket, queueSize: PART_QUEUE_SIZE }),
    downloader,
    logger: silentLogger,
  };
  const keyTemplate = `bench/${task.prefix}/{fileId}/{fileName}`;
  const { lanes } = buildLanes({ templates: [keyTemplate], reportPrefix: 'jobs/' });
  const refs = setFiles(task.set, task.count).map(refOf);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < refs.length; i += 100) {
    const results = await copyBatch(
      refs.slice(i, i + 100),
      { jobId: 'bench', keyTemplate, lanes, concurrency: task.concurrency },
      deps,
    );
    for (const r of results) {
      if (r.status !== task.expect) throw new Error(`expected ${task.expect}: ${JSON.stringify(r)}`);
      if (r.status === 'copied') bytes += r.bytes;
    }
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const { tokenFetches, downloadUrlCalls } = client.stats;
  await Promise.all([downloader.close(), client.close()]);
  s3.destroy();
  return {
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    files: refs.length,
    bytes,
    downloadUrlCalls,
    tokenFetches,
  };
}

/** The lines of the 200,000-line fan-out test (test/integration/security/api-bad-input.test.ts). */
export function runKeySet(task: KeySetTask): KeySetResult {
  const template = 'attachments/{fileId}/{fileName}';
  const { lanes } = buildLanes({ templates: [template], reportPrefix: 'jobs/' });
  const before = liveHeap();
  const targets = new JobTargets(lanes, template, 'bench-job');
  const started = performance.now();
  for (let i = 0; i < task.lines; i++) {
    const out = targets.check({ id: `h${i}`, key: `openapi-${i}-scan ${i}.pdf` }, i + 1);
    if (!('objectKey' in out)) throw new Error(`line ${i + 1} refused: ${JSON.stringify(out)}`);
  }
  const ms = performance.now() - started;
  const heapBytes = liveHeap() - before;
  return { lines: task.lines, keys: targets.size, heapBytes, ms };
}
