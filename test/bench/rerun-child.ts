import { JobTargets } from '../../functions/core/attachments/job-targets.js';
import { buildLanes } from '../../functions/core/attachments/lanes.js';
import { copyBatch } from '../../functions/core/copy/copy-batch.js';
import { type BenchEnv, copyEngineFor } from './bench-env.js';
import { refOf, type SmallSet, setFiles } from './inputs.js';

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
  const { deps, client, close } = copyEngineFor(env);
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
  await close();
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
