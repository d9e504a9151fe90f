/**
 * The fault suite: one job of 300 refs (1 KiB..2 MiB, two multipart-sized files, ~10% DP:) goes manifest →
 * fan-out → local SQS queue (visibility timeout, partial batch retries, DLQ) → copy handler → S3, over real
 * sockets, once per fault class: the 合思 sandbox throws 429 storms, 5xx bursts, slow headers, stalled, reset and
 * truncated bodies, expired URLs and a token revocation at it; a TCP proxy in front of s3rver resets and refuses
 * connections mid-upload; some copy invocations get almost no time before their deadline.
 *
 * After every class: each ref is copied with the right SHA-256 or reported failed with a reason (retryable ones
 * only once their tries ran out); no ref is lost (each appears exactly once in the job's reports and status);
 * every object in the class's prefix is expected and intact; no file was uploaded twice, and no file was
 * downloaded in full more often than its failed uploads explain. Then: nothing secret in any log line, metric line
 * or report written along the way. The table is printed to stdout.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, S3Event, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createS3ReportStore } from '../../../functions/aws/s3-report-store.js';
import { compose } from '../../../functions/compose/composition.js';
import { copyHandlerDeps } from '../../../functions/compose/copy.js';
import { fanOutDeps } from '../../../functions/compose/storage.js';
import { loadConfig } from '../../../functions/config.js';
import type { CopyHandlerDeps } from '../../../functions/copy/handler.js';
import { createHandler as createCopyHandler } from '../../../functions/copy/handler.js';
import { createUndiciDownloader } from '../../../functions/core/copy/undici-downloader.js';
import { getJobStatus } from '../../../functions/core/jobs/job-status.js';
import type { BatchMessage, BatchReport } from '../../../functions/core/model/batch.js';
import type { CopyResult } from '../../../functions/core/model/copy-result.js';
import type { JobRecord } from '../../../functions/core/model/job.js';
import type {
  BatchQueue,
  Downloader,
  DownloadUrlResolver,
  ObjectSink,
} from '../../../functions/core/ports.js';
import { createDownloadGuard } from '../../../functions/core/security/download-guard.js';
import { createGuardedAgent } from '../../../functions/core/security/guarded-agent.js';
import { createHandler as createFanOutHandler } from '../../../functions/fan-out/handler.js';
import { createLogger } from '../../../functions/logger.js';
import { createLambdaContext } from '../../../infra/local/lambda-context.js';
import { LocalQueue } from '../../../infra/local/local-queue.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxFault, SandboxFile } from '../../../infra/local/sandbox/types.js';
import { type FaultProxy, startFaultProxy } from '../../helpers/fault-proxy.js';
import { s3ObjectCreatedEvent } from '../../helpers/s3-event.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const REFS = 300;
/** The copy function's budget per invocation and the queue's visibility timeout (AWS: visibility ≥ timeout). */
const FUNCTION_TIMEOUT_MS = 4_000;
const DEADLINE_MARGIN_MS = 1_500;
const MAX_RECEIVE_COUNT = 8;
/** Small client timeouts so stalls and slow headers cost well under a second each. */
const HEADERS_TIMEOUT_MS = 500;
const BODY_TIMEOUT_MS = 500;
const CLASS_TIMEOUT_MS = 60_000;

// ---- the files: deterministic sizes and names ---------------------------------------------------------------

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Ref {
  file: SandboxFile;
  line: Record<string, string>;
}

function buildRefs(): Ref[] {
  const random = lcg(20260306);
  const refs: Ref[] = [];
  for (let i = 0; i < REFS; i++) {
    const id = `fx${String(i).padStart(4, '0')}`;
    // Skewed towards small files, like real receipts: 1 KiB..2 MiB, plus two multipart-sized ones (5 MiB parts).
    let size = Math.floor(KIB * 2 ** (11 * random() ** 2)) + Math.floor(random() * 1000);
    if (i === 17) size = 9 * MIB + 123;
    if (i === 161) size = 13 * MIB + 7;
    const ext = ['pdf', 'jpg', 'png', 'xlsx', 'ofd'][i % 5] as string;
    const fileName = i % 3 === 0 ? `报销单 ${i}.${ext}` : `scan-${i}.${ext}`;
    if (i % 10 === 4) {
      const key = `DP:${JSON.stringify({ fileId: `9${id}`, fileName, fileSize: size, fileType: ext, spaceId: '7215288789' })}`;
      refs.push({ file: { id, key, fileName, size }, line: { id, key } });
    } else {
      const key = `openapi${createHash('md5').update(id).digest('hex').slice(0, 8)}-${fileName}`;
      const line: Record<string, string> = { id, key };
      if (i % 2 === 0) line.fileName = fileName;
      refs.push({ file: { id, key, fileName, size }, line });
    }
  }
  return refs;
}

// ---- shared state ---------------------------------------------------------------------------------------------

let sandbox: EkuaibaoSandbox;
let s3: TestS3;
let proxy: FaultProxy;
const refs = buildRefs();
const expectedSha = new Map<string, string>();
const logLines: string[] = [];
const processWrites: string[] = [];
const restoreWrites: Array<() => void> = [];
/** Every signed-URL secret handed out during the run (captured at the resolver port). */
const urlSecrets = new Set<string>();
const headerSecrets = new Set<string>();

interface Row {
  fault: string;
  refs: number;
  copied: number;
  skipped: number;
  failed: number;
  lost: number;
  corrupt: number;
  retries: number;
  /** Multipart uploads s3rver still holds (it cannot abort them) / of those, aborts the client never sent. */
  mpuLeft: number;
  mpuUnaborted: number;
  faultsFired: number;
  seconds: number;
  codes: string;
}
const rows: Row[] = [];

beforeAll(async () => {
  [sandbox, s3] = await Promise.all([
    startEkuaibaoSandbox({ files: refs.map((r) => r.file), forms: [] }),
    startS3rver(),
  ]);
  const target = new URL(s3.endpoint);
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  // The functions build their S3 clients from the SDK's standard environment, here pointing at the proxy.
  for (const [k, v] of Object.entries({ ...s3.env, AWS_ENDPOINT_URL_S3: proxy.endpoint })) vi.stubEnv(k, v);
  for (const r of refs) expectedSha.set(r.file.id, await sandbox.sha256(r.file.id));
  // Metrics (EMF) and anything else the functions print go to process.stdout/stderr: keep every byte.
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      processWrites.push(String(chunk));
      const callback = rest.find((a) => typeof a === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
    restoreWrites.push(() => {
      stream.write = original;
    });
  }
});

afterAll(async () => {
  for (const restore of restoreWrites.splice(0)) restore();
  vi.unstubAllEnvs();
  await proxy?.close();
  await Promise.all([sandbox?.close(), s3?.close()]);
  if (rows.length > 0) console.log(`\n${formatTable(rows)}\n`);
});

function formatTable(all: Row[]): string {
  const head = [
    'fault',
    'refs',
    'copied',
    'skipped',
    'failed',
    'lost',
    'corrupt',
    'faults fired',
    'msg retries',
    'MPU left/unaborted',
    's',
    'failure codes',
  ];
  const body = all.map((r) => [
    r.fault,
    String(r.refs),
    String(r.copied),
    String(r.skipped),
    String(r.failed),
    String(r.lost),
    String(r.corrupt),
    String(r.faultsFired),
    String(r.retries),
    `${r.mpuLeft}/${r.mpuUnaborted}`,
    r.seconds.toFixed(1),
    r.codes || '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

// ---- one fault class ------------------------------------------------------------------------------------------

interface FaultClass {
  name: string;
  faults?: SandboxFault[];
  /** Called after every successful upload in this class (the job is under way). */
  onUpload?: (uploads: number) => void | Promise<void>;
  /** Remaining time the nth copy invocation (0-based) sees; undefined = the full function timeout. */
  squeeze?: (invocation: number) => number | undefined;
  /** The store goes away during this class (an abort may not get through). */
  storeOutage?: boolean;
  /** Checks on top of the common ones. */
  verify?: (run: ClassRun) => void;
}

interface ClassRun {
  sandboxDelta: {
    downloadUrlCalls: number;
    downloadsRefused: number;
    unauthorizedCalls: number;
    tokenCalls: number;
  };
  invocations: number;
  /** Queue deliveries beyond the first of each message. */
  retries: number;
  results: CopyResult[];
  tally: Tally;
}

let classNumber = 0;
const knownUploads = new Set<string>();

/** s3rver keeps each multipart upload in <bucket>/._S3rver_uploads/<uploadId> until it completes. */
async function leftoverUploads(): Promise<string[]> {
  const dir = join(dirname(s3.server.objectPath('x')), '._S3rver_uploads');
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Counts per file: uploads that succeeded/failed, bodies read to the end. */
interface Tally {
  putsOk: Map<string, number>;
  putsFailed: Map<string, number>;
  fullDownloads: Map<string, number>;
  uploads: number;
}

const bump = (m: Map<string, number>, k: string): void => {
  m.set(k, (m.get(k) ?? 0) + 1);
};

function instrument(deps: CopyHandlerDeps, tally: Tally, spec: FaultClass): CopyHandlerDeps {
  const urlOwner = new Map<string, string>();
  const resolver: DownloadUrlResolver = {
    async resolveDownloadUrls(items, options) {
      const out = await deps.resolver.resolveDownloadUrls(items, options);
      for (const r of out) {
        if (r.status !== 'resolved') continue;
        urlOwner.set(r.url, r.id);
        for (const [name, value] of new URL(r.url).searchParams) {
          if (/signature|security-token|accesskeyid|expires/i.test(name) && name !== 'Expires')
            urlSecrets.add(value);
        }
        for (const value of Object.values(r.headers ?? {})) headerSecrets.add(value);
      }
      return out;
    },
  };
  const downloader: Downloader = {
    async get(url, options) {
      const res = await deps.downloader.get(url, options);
      const id = urlOwner.get(url);
      // A body drained by dump() is the skip check (size compared, then thrown away), not a copy.
      let dumped = false;
      res.body.once('end', () => {
        if (id !== undefined && !dumped) bump(tally.fullDownloads, id);
      });
      const dump = res.dump;
      return dump
        ? {
            ...res,
            dump: () => {
              dumped = true;
              return dump();
            },
          }
        : res;
    },
  };
  const sink: ObjectSink = {
    head: (key, signal) => deps.sink.head(key, signal),
    // The deployed sink lists a batch's keys before it HEADs any; the suite runs that path too.
    ...(deps.sink.listKeys ? { listKeys: deps.sink.listKeys.bind(deps.sink) } : {}),
    async put(key, body, options) {
      const id = key.split('/')[1] as string;
      try {
        const out = await deps.sink.put(key, body, options);
        bump(tally.putsOk, id);
        tally.uploads += 1;
        await spec.onUpload?.(tally.uploads);
        return out;
      } catch (err) {
        bump(tally.putsFailed, id);
        throw err;
      }
    },
  };
  return { ...deps, resolver, downloader, sink };
}

async function objectSha(key: string): Promise<string> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  const h = createHash('sha256');
  for await (const chunk of out.Body as Readable) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function listAll(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) keys.push(o.Key as string);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

function s3Event(key: string, size: number, eTag: string, n: number): S3Event {
  return s3ObjectCreatedEvent({
    bucket: s3.bucket,
    key,
    size,
    eTag,
    sequencer: `00${String(n).padStart(14, '0')}`,
  });
}

function localBatchQueue(queue: LocalQueue): BatchQueue {
  return {
    async sendBatches(messages: BatchMessage[]) {
      for (let i = 0; i < messages.length; i += 10) {
        const entries = messages.slice(i, i + 10).map((m, j) => ({ id: String(j), body: JSON.stringify(m) }));
        const out = queue.sendBatch(entries);
        if (out.failed.length > 0) throw new Error(`local queue refused ${out.failed.length} messages`);
      }
    },
  };
}

async function runClass(spec: FaultClass): Promise<void> {
  classNumber += 1;
  const n = classNumber;
  const prefix = `fs${n}`;
  const started = Date.now();
  sandbox.clearFaults();
  const before = { ...sandbox.stats, faultsFired: { ...sandbox.stats.faultsFired } };
  const tally: Tally = { putsOk: new Map(), putsFailed: new Map(), fullDownloads: new Map(), uploads: 0 };
  const logger = createLogger({
    level: 'debug',
    service: `faults-${spec.name}`,
    write: (l) => logLines.push(l),
  });

  let invocations = 0;
  let copyHandler: ReturnType<typeof createCopyHandler> | undefined;
  // Every copy invocation, also one the queue gave up on at its timeout: in-process it runs on (in AWS it would be
  // frozen), so the checks below wait for it to return before reading what it left in the bucket.
  const handlerRuns = new Set<Promise<unknown>>();
  const queue = new LocalQueue({
    name: `ekb-faults-${n}`,
    visibilityTimeoutMs: FUNCTION_TIMEOUT_MS,
    maxReceiveCount: MAX_RECEIVE_COUNT,
    batchSize: 1,
    maxConcurrency: 2,
    consumer: {
      functionName: 'copy',
      timeoutMs: FUNCTION_TIMEOUT_MS,
      handler: (event: SQSEvent, context: Context) => {
        const remaining = spec.squeeze?.(invocations);
        invocations += 1;
        let ctx = context;
        if (remaining !== undefined) {
          const deadline = Date.now() + remaining;
          ctx = { ...context, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
        }
        const run = Promise.resolve((copyHandler as ReturnType<typeof createCopyHandler>)(event, ctx));
        handlerRuns.add(run);
        void run.finally(() => handlerRuns.delete(run)).catch(() => undefined);
        return run;
      },
    },
  });

  const env = {
    EKB_BASE_URL: sandbox.baseUrl,
    EKB_APP_KEY: sandbox.appKey,
    EKB_APP_SECURITY: sandbox.appSecurity,
    EKB_BUCKET: s3.bucket,
    EKB_QUEUE_URL: queue.url,
    EKB_OBJECT_KEY_TEMPLATE: `${prefix}/{fileId}/{fileName}`,
    EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
    EKB_PART_SIZE_MB: '5',
    EKB_MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
    EKB_DEADLINE_MARGIN_MS: String(DEADLINE_MARGIN_MS),
    EKB_REQUEST_TIMEOUT_MS: '3000',
  };
  const config = loadConfig(env);
  const base = copyHandlerDeps(compose(config), logger.child({ fn: 'copy' }));
  const guard = createDownloadGuard({ allowedHosts: config.allowedDownloadHosts, allowInsecure: true });
  const deps = instrument(
    {
      ...base,
      downloader: createUndiciDownloader({
        dispatcher: createGuardedAgent({
          guard,
          headersTimeoutMs: HEADERS_TIMEOUT_MS,
          bodyTimeoutMs: BODY_TIMEOUT_MS,
        }),
      }),
      // Real waits, kept short: Retry-After is honoured up to 1.5 s.
      backoff: { baseMs: 50, maxMs: 400, maxRetryAfterMs: 1_500 },
    },
    tally,
    spec,
  );
  copyHandler = createCopyHandler(deps);
  const fanOut = createFanOutHandler({
    ...fanOutDeps(compose(config), logger.child({ fn: 'fan-out' })),
    queue: localBatchQueue(queue),
  });

  // The manifest, uploaded straight to s3rver (not through the proxy), then its S3 event to fan-out.
  const manifestKey = `manifests/faults-${n}-${spec.name}.jsonl`;
  const body = `${refs.map((r) => JSON.stringify(r.line)).join('\n')}\n`;
  const put = await s3.client.send(
    new PutObjectCommand({
      Bucket: s3.bucket,
      Key: manifestKey,
      Body: body,
      ContentType: 'application/x-ndjson',
    }),
  );
  for (const fault of spec.faults ?? []) sandbox.inject(fault);

  let timer: NodeJS.Timeout | undefined;
  try {
    const fanned = (await fanOut(
      s3Event(manifestKey, Buffer.byteLength(body), (put.ETag ?? '').replaceAll('"', ''), n),
      createLambdaContext({ functionName: 'fan-out', timeoutMs: 60_000 }),
    )) as { jobs: Array<{ jobId: string; refs: number }> };
    const jobId = fanned.jobs[0]?.jobId as string;
    expect(fanned.jobs[0]?.refs).toBe(REFS);
    await Promise.race([
      queue.idle(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${spec.name}: the queue did not drain`)),
          CLASS_TIMEOUT_MS,
        );
      }),
    ]);
    await Promise.allSettled([...handlerRuns]);
    await proxy.setMode('pass');
    sandbox.clearFaults();

    // ---- what the job says ----------------------------------------------------------------------------------
    const store = createS3ReportStore({ client: s3.client, bucket: s3.bucket });
    const record = (await store.getJson<JobRecord>(`jobs/${jobId}/job.json`)) as JobRecord;
    const reports: BatchReport[] = [];
    for (const batchId of record.batchIds) {
      const report = await store.getJson<BatchReport>(`jobs/${jobId}/batches/${batchId}.json`);
      if (report) reports.push(report);
    }
    const status = await getJobStatus(jobId, store);
    const results = reports.flatMap((r) => r.results);
    const seen = new Map<string, number>();
    for (const r of results) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
    const lostIds = refs.filter((r) => seen.get(r.file.id) !== 1).map((r) => r.file.id);
    const lost = lostIds.length + (status?.totals.pending ?? REFS) + queue.stats.deadLettered;

    // ---- what the bucket holds --------------------------------------------------------------------------------
    const expectedKeys = new Map<string, string>();
    for (const r of results) if (r.status !== 'failed') expectedKeys.set(r.objectKey, r.id);
    let corrupt = 0;
    const objects = await listAll(`${prefix}/`);
    for (const key of objects) {
      const id = expectedKeys.get(key);
      if (id === undefined || (await objectSha(key)) !== expectedSha.get(id)) corrupt += 1;
    }
    const missing = [...expectedKeys.keys()].filter((k) => !objects.includes(k));

    const failed = results.filter(
      (r): r is Extract<CopyResult, { status: 'failed' }> => r.status === 'failed',
    );
    // Uploads s3rver still holds: each must be one the client tried to abort (s3rver answers that with 405).
    const aborted = new Set(
      proxy
        .requestLines()
        .filter((l) => l.startsWith('DELETE '))
        .map((l) => new URL(l.slice(7), 'http://x').searchParams.get('uploadId')),
    );
    const newUploads = (await leftoverUploads()).filter((u) => !knownUploads.has(u));
    for (const u of newUploads) knownUploads.add(u);
    const unaborted = newUploads.filter((u) => !aborted.has(u));
    const firedNow = Object.entries(sandbox.stats.faultsFired).reduce(
      (sum, [kind, count]) => sum + count - (before.faultsFired[kind] ?? 0),
      0,
    );

    const codes = new Map<string, number>();
    for (const f of failed) codes.set(f.code, (codes.get(f.code) ?? 0) + 1);
    const row: Row = {
      fault: spec.name,
      refs: REFS,
      copied: status?.totals.copied ?? 0,
      skipped: status?.totals.skipped ?? 0,
      failed: status?.totals.failed ?? 0,
      lost: lost + missing.length,
      corrupt,
      retries: queue.stats.received - record.batchIds.length,
      mpuLeft: newUploads.length,
      mpuUnaborted: unaborted.length,
      faultsFired: firedNow,
      seconds: (Date.now() - started) / 1000,
      codes: [...codes].map(([c, k]) => `${c}×${k}`).join(' '),
    };
    rows.push(row);

    // ---- the invariants ---------------------------------------------------------------------------------------
    expect(record.counts.refs).toBe(REFS);
    expect(lostIds).toEqual([]);
    expect(status?.totals.pending).toBe(0);
    expect(queue.stats.deadLettered).toBe(0);
    expect(row.copied + row.skipped + row.failed).toBe(REFS);
    expect(missing).toEqual([]);
    expect(corrupt).toBe(0);
    // Every armed fault went off (there are far more requests than faults).
    expect(firedNow).toBe((spec.faults ?? []).reduce((sum, f) => sum + (f.times ?? 1), 0));
    // Outside an S3 outage (where the abort itself can be refused) no multipart upload is abandoned silently.
    if (!spec.storeOutage) expect(unaborted).toEqual([]);
    for (const f of failed) {
      // A reason, and a retryable failure only once its batch ran out of tries.
      expect(f.code).toMatch(/^[a-z0-9_]+$/);
      expect(f.message.length).toBeGreaterThan(0);
      if (f.retryable) {
        const report = reports.find((r) => r.results.includes(f));
        expect(report?.final && report.attempt >= MAX_RECEIVE_COUNT, JSON.stringify(f)).toBe(true);
      }
    }
    for (const r of refs) {
      const id = r.file.id;
      // Each file lands once at most; later attempts find it and skip (the skip check is the only repeat).
      expect(tally.putsOk.get(id) ?? 0, id).toBeLessThanOrEqual(1);
      // A second full download is explained only by an upload that failed after it.
      expect(tally.fullDownloads.get(id) ?? 0, id).toBeLessThanOrEqual(1 + (tally.putsFailed.get(id) ?? 0));
    }
    spec.verify?.({
      sandboxDelta: {
        downloadUrlCalls: sandbox.stats.downloadUrlCalls - before.downloadUrlCalls,
        downloadsRefused: (sandbox.stats.downloadsRefused ?? 0) - (before.downloadsRefused ?? 0),
        unauthorizedCalls: (sandbox.stats.unauthorizedCalls ?? 0) - (before.unauthorizedCalls ?? 0),
        tokenCalls: sandbox.stats.tokenCalls - before.tokenCalls,
      },
      invocations,
      retries: row.retries,
      results,
      tally,
    });
  } finally {
    clearTimeout(timer);
    await queue.close(5_000);
    await proxy.setMode('pass');
    sandbox.clearFaults();
  }
}

// ---- the classes ----------------------------------------------------------------------------------------------

const fired = (kind: string) => sandbox.stats.faultsFired[kind] ?? 0;

const CLASSES: FaultClass[] = [
  { name: 'none' },
  {
    name: '429 storm (Retry-After)',
    faults: [
      { kind: 'status', route: 'downloadurls', status: 429, retryAfterSeconds: 1, times: 2 },
      { kind: 'status', route: 'download', status: 429, retryAfterSeconds: 1, times: 40 },
    ],
    verify: () => expect(fired('status')).toBeGreaterThan(0),
  },
  {
    name: '5xx bursts',
    faults: [
      { kind: 'status', route: 'downloadurls', status: 502, times: 2 },
      { kind: 'status', route: 'download', status: 503, times: 25 },
      { kind: 'status', route: 'download', status: 500, times: 15 },
    ],
  },
  { name: 'slow headers', faults: [{ kind: 'slowHeaders', route: 'download', delayMs: 1_500, times: 12 }] },
  { name: 'stalled bodies', faults: [{ kind: 'stallBody', route: 'download', afterBytes: 512, times: 12 }] },
  { name: 'resets mid-body', faults: [{ kind: 'reset', route: 'download', afterBytes: 700, times: 15 }] },
  { name: 'truncated bodies', faults: [{ kind: 'truncate', route: 'download', afterBytes: 700, times: 15 }] },
  {
    name: 'URLs expired before use',
    faults: [{ kind: 'expiredUrl', times: 20 }],
    // Each 403 is answered by resolving that ref again.
    verify: (run) => expect(run.sandboxDelta.downloadsRefused).toBeGreaterThanOrEqual(20),
  },
  {
    name: 'token revoked mid-job',
    onUpload: (uploads) => {
      if (uploads === 60 || uploads === 180) sandbox.revokeTokens();
    },
    // The batches resolved after a revocation were refused once, then the client fetched a new token.
    verify: (run) => {
      expect(run.sandboxDelta.unauthorizedCalls).toBeGreaterThan(0);
      expect(run.sandboxDelta.tokenCalls).toBeGreaterThan(1);
    },
  },
  {
    name: 'S3 resets/refuses mid-upload',
    storeOutage: true,
    onUpload: async (uploads) => {
      if (uploads !== 40) return;
      // The store drops every connection, then refuses new ones, then comes back on the same port.
      await proxy.setMode('reset');
      setTimeout(() => {
        void proxy.setMode('refuse').then(() => {
          setTimeout(() => void proxy.setMode('pass'), 700);
        });
      }, 500);
    },
    verify: (run) => {
      expect(proxy.stats.resets).toBeGreaterThan(0);
      // Uploads really failed mid-way, and the queue's retries finished the job.
      expect([...run.tally.putsFailed.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(run.retries).toBeGreaterThan(0);
    },
  },
  {
    name: 'deadline mid-batch',
    // The first three invocations get 250-400 ms before their deadline margin: they stop mid-batch.
    squeeze: (invocation) => (invocation < 3 ? DEADLINE_MARGIN_MS + 250 + invocation * 75 : undefined),
    verify: (run) => {
      expect(run.invocations).toBeGreaterThan(3);
      expect(run.retries).toBeGreaterThan(0);
    },
  },
  {
    name: 'silent corruption',
    // Bodies with one flipped byte and the right length, checksum headers that lie or are not checksums: every
    // one is caught while streaming (the sandbox's downloads carry x-oss-hash-crc64ecma, as OSS's do).
    faults: [
      { kind: 'corruptBody', times: 20 },
      { kind: 'wrongChecksum', times: 6 },
      { kind: 'wrongChecksum', header: 'md5', times: 4 },
      { kind: 'malformedChecksum', times: 4 },
    ],
    verify: (run) => {
      const failed = run.results.filter((r) => r.status === 'failed');
      for (const f of failed) expect(['integrity_mismatch', 'source_checksum_invalid']).toContain(f.code);
      const copied = run.results.filter((r) => r.status === 'copied');
      // Each copied file's record is the truth: its SHA-256 is the file's, checked against the source's CRC-64.
      for (const r of copied) {
        expect(r.record.sha256, r.id).toBe(expectedSha.get(r.id));
        expect(r.record.source.verified, r.id).toBe(true);
      }
      // The faults were caught on the way and downloaded again: more full downloads than files.
      const downloads = [...run.tally.fullDownloads.values()].reduce((a, b) => a + b, 0);
      expect(downloads).toBeGreaterThan(copied.length);
    },
  },
];

describe('fault suite: fan-out → local queue → copy under every fault class', () => {
  it.each(CLASSES.map((c) => [c.name, c] as const))(
    'copies or reports every ref intact under %s',
    async (_name, spec) => {
      await runClass(spec);
    },
    CLASS_TIMEOUT_MS + 30_000,
  );

  it('leaks no token, app secret, URL signature or download header into logs, metrics or reports', async () => {
    const tokens = sandbox.issuedTokens?.() ?? [];
    expect(tokens.length).toBeGreaterThan(2); // revocations forced new tokens
    expect(urlSecrets.size).toBeGreaterThan(REFS);
    expect(headerSecrets.size).toBeGreaterThan(0);
    expect(logLines.length).toBeGreaterThan(REFS);

    const reportTexts: string[] = [];
    for (const key of await listAll('jobs/')) {
      const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      reportTexts.push((await out.Body?.transformToString('utf-8')) ?? '');
    }
    expect(reportTexts.length).toBeGreaterThan(CLASSES.length);

    const secrets = [sandbox.appSecurity, ...tokens, ...urlSecrets, ...headerSecrets].filter(
      (s) => s.length >= 8,
    );
    const haystacks = [
      ['log line', logLines],
      ['stdout/stderr write', processWrites],
      ['report', reportTexts],
    ] as const;
    const leaks: string[] = [];
    for (const [where, texts] of haystacks) {
      // One joined text per kind, searched once per secret form; a hit is then traced to its line.
      const all = texts.join('\n');
      for (const secret of secrets) {
        for (const form of new Set([
          secret,
          encodeURIComponent(secret),
          JSON.stringify(secret).slice(1, -1),
        ])) {
          if (!all.includes(form)) continue;
          const text = texts.find((t) => t.includes(form)) ?? '';
          leaks.push(`${where} holds ${secret.slice(0, 4)}…: ${text.slice(0, 200)}`);
        }
      }
      for (const m of all.matchAll(/[?&]Signature=(?!\[redacted\])[^&\s"]{0,40}/g))
        leaks.push(`${where}: ${m[0]}`);
      for (const m of all.matchAll(/OSS\s+[A-Za-z0-9]+:[A-Za-z0-9+/=]{8,}/g)) leaks.push(`${where}: ${m[0]}`);
    }
    expect(leaks.slice(0, 5)).toEqual([]);
  });
});
