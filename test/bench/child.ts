/**
 * One measured case, in a fresh process: the parent bundles this file with the functions' own esbuild settings
 * (so no TypeScript loader thread sits in the process and inflates its RSS) and runs `node child.mjs '<task json>'`.
 * The sandbox and s3rver live in other processes, so peak RSS here is the copier's alone.
 * Prints exactly one line `@@RESULT <json>` on stdout.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Context } from 'aws-lambda';
import { Agent, request } from 'undici';
import { createS3Sink } from '../../functions/aws/s3-sink.js';
import { type CopyDeps, copyBatch } from '../../functions/core/copy/copy-batch.js';
import { choosePartSize, DEFAULT_PART_BYTES } from '../../functions/core/copy/part-size.js';
import { createUndiciDownloader } from '../../functions/core/copy/undici-downloader.js';
import type { EkuaibaoClient } from '../../functions/core/ekuaibao/client.js';
import type { CopyResult } from '../../functions/core/model/copy-result.js';
import type { ResolvedAttachment } from '../../functions/core/model/resolution.js';
import { silentLogger } from '../../functions/core/ports.js';
import { createLogger } from '../../functions/logger.js';
import { createHandler, type ResolveEvent } from '../../functions/resolve/handler.js';
import { type BenchEnv, copyEngineFor, ekuaibaoClientFor, s3ClientFor } from './bench-env.js';
import { type HashTask, runHash } from './hash-child.js';
import { PART_QUEUE_SIZE, refOf, type SmallSet, setFiles } from './inputs.js';
import { type FormsTask, runForms } from './packages-child.js';
import { type KeySetTask, type RerunTask, runKeySet, runRerun } from './rerun-child.js';

export type { BenchEnv } from './bench-env.js';

export type LargeMode = 'ceiling' | 'pipe' | 'engine' | 'naive';

export type ChildTask =
  | {
      kind: 'large';
      mode: LargeMode;
      env: BenchEnv;
      file: { id: string; key: string; size: number };
      prefix: string;
      /** Parts uploaded in parallel (pipe and engine); default PART_QUEUE_SIZE. */
      queueSize?: number;
    }
  | {
      kind: 'batch';
      env: BenchEnv;
      set: SmallSet;
      count: number;
      concurrency: number;
      batchSize: number;
      prefix: string;
    }
  | { kind: 'api-calls'; env: BenchEnv; counts: number[] }
  /** Control for section 2: `count` part-sized Buffers allocated one after another, only one ever referenced. */
  | { kind: 'alloc'; partSize: number; count: number }
  /** Section 8: the integrity checks alone, no network (hash-child.ts). */
  | HashTask
  | {
      kind: 'latency';
      env: BenchEnv;
      refsPerRequest: number;
      levels: Array<{ concurrency: number; requests: number }>;
      rounds: number;
    }
  /** Section 9 (packages-child.ts): one sync run, files or form packages. */
  | FormsTask

  /** Section 7 (rerun-child.ts): a first copy or a re-run; the memory of one job's key check. */
  | RerunTask
  | KeySetTask;

export interface LargeResult {
  ms: number;
  /** CPU time (user + system) this process used while the clock ran. */
  cpuMs: number;
  bytes: number;
  /** RSS after setup, before the first byte moved. */
  idleRss: number;
  /** Largest RSS seen by the 20 ms sampler. */
  sampledPeakRss: number;
  /** Largest Buffer/ArrayBuffer total seen by the sampler. */
  peakArrayBuffers: number;
  /** Largest V8 heap (reserved) seen by the sampler. */
  peakHeapTotal: number;
  /** V8 heap in use after the copy and a full GC (needs --expose-gc; else without the GC): what stays behind. */
  heapUsedAfter: number;
  /** The same before the first byte moved. */
  heapUsedBefore: number;
  /** VmHWM: the kernel's own high-water mark for the process's whole life. */
  vmHwm: number;
}

export interface BatchResult {
  ms: number;
  /** CPU time (user + system) this process used while the clock ran. */
  cpuMs: number;
  files: number;
  bytes: number;
  tokenFetches: number;
  downloadUrlCalls: number;
  vmHwm: number;
}

export interface ApiCallsRow {
  refs: number;
  via: 'client' | 'handler';
  tokenFetches: number;
  downloadUrlCalls: number;
}

export type LatencyVariant = 'raw' | 'client' | 'handler';
export interface Timing {
  /** The whole request as its caller sees it. */
  totalMs: number;
  /** Of which waiting for the sandbox: undici request created → answer fully received. */
  upstreamMs: number;
}
export interface LatencyResult {
  /** Per concurrency level and variant: every request's timing. */
  samples: Record<string, Record<LatencyVariant, Timing[]>>;
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** Heap in use after a full collection when the process runs with --expose-gc. */
function liveHeap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

function vmHwmBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

interface MemoryPeaks {
  rss: number;
  /** Buffers and ArrayBuffers alive (V8 external memory the copy allocates: parts, chunks). */
  arrayBuffers: number;
  /** V8 heap reserved. */
  heapTotal: number;
}

/** Samples every 20 ms; VmHWM (read at the end) catches spikes shorter than that. */
function startMemorySampler(): { stop(): MemoryPeaks } {
  const peak: MemoryPeaks = { rss: 0, arrayBuffers: 0, heapTotal: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
  };
  sample();
  const timer = setInterval(sample, 20);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

async function resolveOne(
  client: EkuaibaoClient,
  ref: { id: string; key: string },
): Promise<ResolvedAttachment> {
  const [r] = await client.resolveDownloadUrls([ref]);
  if (r?.status !== 'resolved') throw new Error(`sandbox does not know ${ref.id}`);
  return r;
}

function expectCopied(results: CopyResult[]): { files: number; bytes: number } {
  let bytes = 0;
  for (const r of results) {
    if (r.status !== 'copied') throw new Error(`bench copy did not copy: ${JSON.stringify(r)}`);
    bytes += r.bytes;
  }
  return { files: results.length, bytes };
}

async function runLarge(task: Extract<ChildTask, { kind: 'large' }>): Promise<LargeResult> {
  const { env, file, mode } = task;
  const client = ekuaibaoClientFor(env);
  const s3 = s3ClientFor(env);
  const objectKey = `bench/${task.prefix}/${file.id}.bin`;
  const partSize = choosePartSize(file.size, DEFAULT_PART_BYTES);
  const queueSize = task.queueSize ?? PART_QUEUE_SIZE;
  // The baselines resolve before the clock starts; the engine resolves inside copyBatch (one call, ~1 ms).
  const resolved = mode === 'engine' ? undefined : await resolveOne(client, file);
  const agent = new Agent();
  const downloader = createUndiciDownloader();
  const heapUsedBefore = liveHeap();
  const sampler = startMemorySampler();
  const idleRss = process.memoryUsage.rss();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let bytes = 0;

  if (mode === 'ceiling') {
    const res = await request(resolved!.url, {
      dispatcher: agent,
      headers: { 'accept-encoding': 'identity' },
    });
    if (res.statusCode !== 200) throw new Error(`ceiling GET answered ${res.statusCode}`);
    await new Promise<void>((resolve, reject) => {
      res.body.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.body.on('end', resolve);
      res.body.on('error', reject);
    });
  } else if (mode === 'pipe') {
    const res = await request(resolved!.url, {
      dispatcher: agent,
      headers: { 'accept-encoding': 'identity' },
    });
    if (res.statusCode !== 200) throw new Error(`pipe GET answered ${res.statusCode}`);
    const upload = new Upload({
      client: s3,
      params: { Bucket: env.bucket, Key: objectKey, Body: res.body, ContentLength: file.size },
      partSize,
      queueSize,
      leavePartsOnError: false,
    });
    await upload.done();
    bytes = file.size;
  } else if (mode === 'naive') {
    const res = await fetch(resolved!.url);
    if (res.status !== 200) throw new Error(`naive GET answered ${res.status}`);
    const body = new Uint8Array(await res.arrayBuffer());
    await s3.send(
      new PutObjectCommand({
        Bucket: env.bucket,
        Key: objectKey,
        Body: body,
        ContentLength: body.byteLength,
      }),
    );
    bytes = body.byteLength;
  } else {
    const deps: CopyDeps = {
      resolver: client,
      sink: createS3Sink({ client: s3, bucket: env.bucket, queueSize }),
      downloader,
      logger: silentLogger,
    };
    const results = await copyBatch(
      [{ id: file.id, key: file.key }],
      { jobId: 'bench', keyTemplate: `bench/${task.prefix}/{fileId}.bin` },
      deps,
    );
    bytes = expectCopied(results).bytes;
  }

  const ms = performance.now() - started;
  const cpuMs = cpuSince(cpu0);
  const peaks = sampler.stop();
  if (bytes !== file.size) throw new Error(`${mode} moved ${bytes} of ${file.size} bytes`);
  const vmHwm = vmHwmBytes();
  const heapUsedAfter = liveHeap();
  await Promise.all([agent.close(), downloader.close(), client.close()]);
  s3.destroy();
  return {
    ms,
    cpuMs,
    bytes,
    idleRss,
    sampledPeakRss: peaks.rss,
    peakArrayBuffers: peaks.arrayBuffers,
    peakHeapTotal: peaks.heapTotal,
    heapUsedBefore,
    heapUsedAfter,
    vmHwm,
  };
}

/** What RSS does when a process only ever holds one part: the garbage collector's slack for freed Buffers. */
async function runAlloc(task: Extract<ChildTask, { kind: 'alloc' }>): Promise<LargeResult> {
  const sampler = startMemorySampler();
  const idleRss = process.memoryUsage.rss();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let held: Buffer | undefined;
  for (let i = 0; i < task.count; i++) {
    held = Buffer.allocUnsafe(task.partSize);
    held.fill(i & 0xff);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const ms = performance.now() - started;
  const cpuMs = cpuSince(cpu0);
  const peaks = sampler.stop();
  const vmHwm = vmHwmBytes();
  return {
    ms,
    cpuMs,
    bytes: (held?.length ?? 0) * task.count,
    idleRss,
    sampledPeakRss: peaks.rss,
    peakArrayBuffers: peaks.arrayBuffers,
    peakHeapTotal: peaks.heapTotal,
    heapUsedBefore: 0,
    heapUsedAfter: 0,
    vmHwm,
  };
}

async function runBatch(task: Extract<ChildTask, { kind: 'batch' }>): Promise<BatchResult> {
  const { env } = task;
  const { deps, client, close } = copyEngineFor(env);
  const refs = setFiles(task.set, task.count).map(refOf);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let files = 0;
  let bytes = 0;
  // A worker takes one queue message (≤100 refs) at a time, as the copy function does.
  for (let i = 0; i < refs.length; i += task.batchSize) {
    const results = await copyBatch(
      refs.slice(i, i + task.batchSize),
      {
        jobId: 'bench',
        keyTemplate: `bench/${task.prefix}/{fileId}/{fileName}`,
        concurrency: task.concurrency,
      },
      deps,
    );
    const done = expectCopied(results);
    files += done.files;
    bytes += done.bytes;
  }
  const ms = performance.now() - started;
  const cpuMs = cpuSince(cpu0);
  const { tokenFetches, downloadUrlCalls } = client.stats;
  await close();
  return { ms, cpuMs, files, bytes, tokenFetches, downloadUrlCalls, vmHwm: vmHwmBytes() };
}

function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'ekb-archive-resolve',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:ap-east-1:123456789012:function:ekb-archive-resolve',
    memoryLimitInMB: '512',
    awsRequestId: 'bench',
    logGroupName: '/aws/lambda/ekb-archive-resolve',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 29_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

let eventSeq = 0;
function apiEvent(body: string): ResolveEvent {
  eventSeq += 1;
  return {
    version: '2.0',
    routeKey: 'POST /attachments/download-urls',
    rawPath: '/attachments/download-urls',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    requestContext: {
      accountId: '123456789012',
      apiId: 'bench',
      domainName: 'bench.execute-api.ap-east-1.amazonaws.com',
      domainPrefix: 'bench',
      http: {
        method: 'POST',
        path: '/attachments/download-urls',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'bench',
      },
      requestId: `bench-${eventSeq}`,
      routeKey: 'POST /attachments/download-urls',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1_767_225_600_000,
    },
    body,
    isBase64Encoded: false,
  } as ResolveEvent;
}

function resolveHandlerFor(client: EkuaibaoClient) {
  // The real structured logger (JSON + redaction per line is part of the function's cost), writing nowhere.
  const logger = createLogger({ service: 'resolve', write: () => undefined });
  return createHandler({ resolver: client, logger, maxRefs: 5_000 }, logger);
}

async function invokeHandler(handler: ReturnType<typeof resolveHandlerFor>, body: string): Promise<void> {
  const res = await handler(apiEvent(body), lambdaContext());
  if (res.statusCode !== 200) throw new Error(`resolve handler answered ${res.statusCode}: ${res.body}`);
}

async function runApiCalls(task: Extract<ChildTask, { kind: 'api-calls' }>): Promise<ApiCallsRow[]> {
  const client = ekuaibaoClientFor(task.env);
  const handler = resolveHandlerFor(client);
  const all = setFiles('api-refs').map(refOf);
  const rows: ApiCallsRow[] = [];
  for (const n of task.counts) {
    for (const via of ['client', 'handler'] as const) {
      const before = { ...client.stats };
      const refs = all.slice(0, n);
      if (via === 'client') {
        const answers = await client.resolveDownloadUrls(refs);
        if (answers.some((a) => a.status !== 'resolved')) throw new Error('sandbox lost a bench ref');
      } else {
        await invokeHandler(handler, JSON.stringify(refs));
      }
      rows.push({
        refs: n,
        via,
        tokenFetches: client.stats.tokenFetches - before.tokenFetches,
        downloadUrlCalls: client.stats.downloadUrlCalls - before.downloadUrlCalls,
      });
    }
  }
  await client.close();
  return rows;
}

async function runLatency(task: Extract<ChildTask, { kind: 'latency' }>): Promise<LatencyResult> {
  const { env } = task;
  const client = ekuaibaoClientFor(env);
  const handler = resolveHandlerFor(client);
  const agent = new Agent();
  const refs = setFiles('api-refs', task.refsPerRequest).map(refOf);
  const body = JSON.stringify(refs);
  const vendorBody = JSON.stringify(refs.map((r) => ({ ...r, expiration: 1800 })));
  const token = await client.getAccessToken();
  const rawUrl = `${env.ekbBaseUrl}/api/openapi/v2/attachment/downloadurls?accessToken=${encodeURIComponent(token)}`;

  const once: Record<LatencyVariant, () => Promise<void>> = {
    // The vendor's own latency: the same POST the client makes, answer read whole, nothing else.
    raw: async () => {
      const res = await request(rawUrl, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: vendorBody,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200 || text.length < 2)
        throw new Error(`downloadurls answered ${res.statusCode}`);
    },
    client: async () => {
      const answers = await client.resolveDownloadUrls(refs);
      if (answers.length !== refs.length) throw new Error('client lost refs');
    },
    handler: () => invokeHandler(handler, body),
  };

  // Each request's upstream time (undici request created → last byte of the answer received), attributed to the
  // invocation that sent it: the function's own latency is its total minus that.
  const als = new AsyncLocalStorage<{ upstreamMs: number; calls: number }>();
  const inFlight = new WeakMap<object, { t: number; rec: { upstreamMs: number; calls: number } }>();
  const onCreate = (m: unknown): void => {
    const rec = als.getStore();
    if (rec) inFlight.set((m as { request: object }).request, { t: performance.now(), rec });
  };
  const onDone = (m: unknown): void => {
    const f = inFlight.get((m as { request: object }).request);
    if (!f) return;
    f.rec.upstreamMs += performance.now() - f.t;
    f.rec.calls += 1;
  };
  diagnostics.subscribe('undici:request:create', onCreate);
  diagnostics.subscribe('undici:request:trailers', onDone);

  const measure = async (
    variant: LatencyVariant,
    concurrency: number,
    requests: number,
  ): Promise<Timing[]> => {
    const out: Timing[] = [];
    let left = requests;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left > 0) {
          left -= 1;
          const rec = { upstreamMs: 0, calls: 0 };
          const t = performance.now();
          await als.run(rec, once[variant]);
          const totalMs = performance.now() - t;
          // ≤100 refs and a cached token: exactly one upstream call, so total − upstream is the own time.
          if (rec.calls !== 1) throw new Error(`${variant} made ${rec.calls} upstream calls for one request`);
          out.push({ totalMs, upstreamMs: rec.upstreamMs });
        }
      }),
    );
    return out;
  };

  const variants: LatencyVariant[] = ['raw', 'client', 'handler'];
  // Warm-up: token fetched, sockets open for the widest level, JIT settled; not counted.
  const widest = Math.max(...task.levels.map((l) => l.concurrency));
  for (const v of variants) await measure(v, widest, widest * 4);

  const samples: LatencyResult['samples'] = {};
  for (let round = 0; round < task.rounds; round++) {
    for (const level of task.levels) {
      samples[String(level.concurrency)] ??= { raw: [], client: [], handler: [] };
      const perVariant = samples[String(level.concurrency)] as Record<LatencyVariant, Timing[]>;
      // Rotate the order each round so a slow patch of the shared machine does not land on one variant.
      const order = variants.map((_, i) => variants[(i + round) % variants.length] as LatencyVariant);
      for (const v of order) perVariant[v].push(...(await measure(v, level.concurrency, level.requests)));
    }
  }
  diagnostics.unsubscribe('undici:request:create', onCreate);
  diagnostics.unsubscribe('undici:request:trailers', onDone);
  await Promise.all([agent.close(), client.close()]);
  return { samples };
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '') as ChildTask;
  let result: unknown;
  if (task.kind === 'large') result = await runLarge(task);
  else if (task.kind === 'batch') result = await runBatch(task);
  else if (task.kind === 'api-calls') result = await runApiCalls(task);
  else if (task.kind === 'alloc') result = await runAlloc(task);
  else if (task.kind === 'forms') result = await runForms(task, s3ClientFor(task.env), vmHwmBytes, cpuSince);
  else if (task.kind === 'hash') result = await runHash(task);
  else if (task.kind === 'rerun') result = await runRerun(task);
  else if (task.kind === 'key-set') result = runKeySet(task);
  else result = await runLatency(task);
  // stdout to a pipe is asynchronous: exit only once the (large, for latency samples) line is flushed.
  await new Promise<void>((resolve) =>
    process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`, () => resolve()),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
