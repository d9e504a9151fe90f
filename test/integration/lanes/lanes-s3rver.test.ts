/**
 * Every write stays in its lane, through the deployed handlers (jobs API, fan-out, copy) against the 合思 sandbox
 * and s3rver: what issue 12 saw break (a template aimed at job.json, a ref aimed at another job's batch report, at
 * sync/state.json, at manifests/, at another file's key) is refused per item and nothing the job does not own is
 * written; two files of one job on one key; an occupied key with no metadata, another file's identity or the same
 * file; the opt-in overwrite; and a re-run that costs 合思 nothing (the sandbox's own counters).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyResultV2, Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createS3ReportStore } from '../../../functions/aws/s3-report-store.js';
import { compose } from '../../../functions/compose/composition.js';
import { copyHandlerDeps } from '../../../functions/compose/copy.js';
import { fanOutDeps, jobsApiDeps } from '../../../functions/compose/storage.js';
import { loadConfig } from '../../../functions/config.js';
import { createHandler as createCopyHandler } from '../../../functions/copy/handler.js';
import type { BatchReport } from '../../../functions/core/model/batch.js';
import type { CopyResult } from '../../../functions/core/model/copy-result.js';
import type { JobRecord, JobStatus } from '../../../functions/core/model/job.js';
import { silentLogger } from '../../../functions/core/ports.js';
import { createHandler as createFanOutHandler } from '../../../functions/fan-out/handler.js';
import type { S3FanOutResult } from '../../../functions/fan-out/s3-event.js';
import { createHandler as createJobsHandler } from '../../../functions/jobs-api/handler.js';
import { demoFiles } from '../../../infra/local/sandbox/demo-data.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxFile } from '../../../infra/local/sandbox/types.js';
import { s3ObjectCreatedEvent } from '../../helpers/s3-event.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';
import { recordingQueue } from '../../unit/core/jobs/job-fakes.js';

let sandbox: EkuaibaoSandbox;
let s3: TestS3;
const queue = recordingQueue();
let jobs: ReturnType<typeof createJobsHandler>;
let fanOut: ReturnType<typeof createFanOutHandler>;
let copy: ReturnType<typeof createCopyHandler>;
let sequence = 0;

const files = demoFiles().filter((f) => !f.key.startsWith('DP:'));
const fileA = files[0] as SandboxFile;
const fileB = files[1] as SandboxFile;
const fileC = files[2] as SandboxFile;
const ref = (f: SandboxFile, extra: Record<string, string> = {}) => ({ id: f.id, key: f.key, ...extra });
const defaultKey = (f: SandboxFile) => `attachments/${f.id}/${f.fileName}`;

const context = () => ({ awsRequestId: 'r', getRemainingTimeInMillis: () => 300_000 }) as unknown as Context;

type Answer = Exclude<APIGatewayProxyResultV2, string> & { statusCode: number; body: string };

function apiEvent(method: string, path: string, body?: string) {
  return {
    version: '2.0',
    routeKey: method === 'POST' ? 'POST /copy-jobs' : 'GET /copy-jobs/{jobId}',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: { requestId: `api-${++sequence}`, http: { method, path } },
    ...(method === 'GET' ? { pathParameters: { jobId: path.split('/').pop() } } : {}),
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body }),
  };
}

const post = async (body: unknown): Promise<Answer> =>
  (await jobs(apiEvent('POST', '/copy-jobs', JSON.stringify(body)) as never, context())) as Answer;
const status = async (jobId: string): Promise<JobStatus> => {
  const res = (await jobs(apiEvent('GET', `/copy-jobs/${jobId}`) as never, context())) as Answer;
  expect(res.statusCode).toBe(200);
  return JSON.parse(res.body) as JobStatus;
};

/** Runs every queued batch through the copy handler, as SQS would, until the queue is empty. */
async function drain(): Promise<void> {
  while (queue.messages.length > 0) {
    const messages = queue.messages.splice(0);
    const event = {
      Records: messages.map((m, i) => ({
        messageId: `m-${++sequence}-${i}`,
        body: JSON.stringify(m),
        attributes: { ApproximateReceiveCount: '1' },
      })),
    } as unknown as SQSEvent;
    const out = await copy(event, context());
    expect(out?.batchItemFailures).toEqual([]);
  }
}

async function put(key: string, body: string, metadata: Record<string, string> = {}): Promise<string> {
  const out = await s3.client.send(
    new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body, Metadata: metadata }),
  );
  return (out.ETag ?? '').replaceAll('"', '');
}

async function bytesOf(key: string): Promise<Buffer | undefined> {
  try {
    const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    const chunks: Buffer[] = [];
    for await (const c of out.Body as Readable) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  } catch {
    return undefined;
  }
}

const sha = (b: Buffer | undefined) => (b ? createHash('sha256').update(b).digest('hex') : 'none');

/** A manifest uploaded under manifests/ and its S3 event handed to fan-out: the job id. */
async function manifestJob(lines: unknown[]): Promise<string> {
  const key = `manifests/lanes-${++sequence}.jsonl`;
  const body = `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
  const eTag = await put(key, body);
  const event = s3ObjectCreatedEvent({
    bucket: s3.bucket,
    key,
    size: Buffer.byteLength(body),
    eTag,
    sequencer: String(sequence).padStart(16, '0'),
  });
  const out = (await fanOut(event, context())) as S3FanOutResult;
  return out.jobs[0]?.jobId as string;
}

async function record(jobId: string): Promise<JobRecord> {
  return (await createS3ReportStore({ client: s3.client, bucket: s3.bucket }).getJson<JobRecord>(
    `jobs/${jobId}/job.json`,
  )) as JobRecord;
}

async function results(jobId: string): Promise<CopyResult[]> {
  const store = createS3ReportStore({ client: s3.client, bucket: s3.bucket });
  const out: CopyResult[] = [];
  for (const batchId of (await record(jobId)).batchIds) {
    out.push(...((await store.getJson<BatchReport>(`jobs/${jobId}/batches/${batchId}.json`))?.results ?? []));
  }
  return out;
}

beforeAll(async () => {
  [sandbox, s3] = await Promise.all([startEkuaibaoSandbox({ forms: [] }), startS3rver()]);
  for (const [k, v] of Object.entries(s3.env)) vi.stubEnv(k, v);
  const config = loadConfig({
    EKB_BASE_URL: sandbox.baseUrl,
    EKB_APP_KEY: sandbox.appKey,
    EKB_APP_SECURITY: sandbox.appSecurity,
    EKB_BUCKET: s3.bucket,
    EKB_QUEUE_URL: 'https://sqs.invalid/queue',
    EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
  });
  const c = compose(config, { logger: silentLogger, queue });
  jobs = createJobsHandler(jobsApiDeps(c));
  fanOut = createFanOutHandler(fanOutDeps(c));
  copy = createCopyHandler({ ...copyHandlerDeps(c), sleep: async () => {}, metrics: () => {} });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all([sandbox?.close(), s3?.close()]);
});

beforeEach(() => {
  sandbox.clearFaults();
  queue.messages.length = 0;
});

describe('system lanes, through the jobs API, fan-out and the copy function', () => {
  let done: string;
  let doneStatus: JobStatus;
  let doneReport: string;

  beforeAll(async () => {
    // A finished job whose records the hostile requests below aim at.
    const created = await post({ refs: [ref(fileA)] });
    expect(created.statusCode).toBe(202);
    done = (JSON.parse(created.body) as { jobId: string }).jobId;
    await drain();
    doneStatus = await status(done);
    expect(doneStatus).toMatchObject({ state: 'done', totals: { copied: 1 } });
    doneReport = sha(await bytesOf(`jobs/${done}/batches/b00001.json`));
  });

  it('refuses keyTemplate "jobs/{jobId}/job.json" with a 400 naming the rule, queues nothing, and the job stays readable', async () => {
    const res = await post({ refs: [ref(fileB)], keyTemplate: 'jobs/{jobId}/job.json' });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error.message).toMatch(/"keyTemplate": .*system lane "jobs\/"/);
    expect(queue.messages).toEqual([]);
    expect(await status(done)).toEqual(doneStatus);
  });

  it('refuses targetKeys aimed at job records, batch reports, sync state and manifests with a 400 naming item and field', async () => {
    for (const targetKey of [
      `jobs/${done}/job.json`,
      `jobs/${done}/batches/b00003.json`,
      'sync/state.json',
      'manifests/x.jsonl',
    ]) {
      const res = await post({ refs: [ref(fileB), ref(fileC, { targetKey })] });
      expect(res.statusCode, targetKey).toBe(400);
      expect(JSON.parse(res.body).error.message).toMatch(/^refs\[1\]: "targetKey" .*system lane/);
    }
    expect(queue.messages).toEqual([]);
  });

  it('turns manifest lines aimed at system lanes into bad lines with their code, copies the good one, writes nothing else', async () => {
    const state = await put('sync/state.json', '{"v":1,"watermark":"kept"}');
    const jobId = await manifestJob([
      ref(fileB, { targetKey: `jobs/${done}/batches/b00001.json` }),
      ref(fileC, { targetKey: 'sync/state.json' }),
      ref(fileC, { targetKey: 'manifests/x.jsonl' }),
      ref(fileC, { targetKey: `jobs/${done}/job.json` }),
      ref(fileB),
    ]);
    await drain();
    const s = await status(jobId);
    expect(s.totals).toMatchObject({ refs: 1, copied: 1, failed: 0 });
    expect(s.badLines.map((b) => [b.line, b.code])).toEqual([
      [1, 'target_in_system_lane'],
      [2, 'target_in_system_lane'],
      [3, 'target_in_system_lane'],
      [4, 'target_in_system_lane'],
    ]);
    expect(s.state).toBe('done_with_failures');
    expect(sha(await bytesOf(`jobs/${done}/batches/b00001.json`))).toBe(doneReport);
    expect(await status(done)).toEqual(doneStatus);
    expect(
      (await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'sync/state.json' }))).ETag,
    ).toBe(`"${state}"`);
    expect(await bytesOf('manifests/x.jsonl')).toBeUndefined();
  });

  it('refuses a queue message whose template or targetKey lands in a system lane (the copy function checks too)', async () => {
    const before = sha(await bytesOf(`jobs/${done}/job.json`));
    queue.messages.push(
      { v: 1, jobId: done, batchId: 'b00900', refs: [ref(fileB)], keyTemplate: 'jobs/{jobId}/job.json' },
      { v: 1, jobId: done, batchId: 'b00901', refs: [ref(fileC, { targetKey: 'sync/state.json' })] },
    );
    await drain();
    expect(sha(await bytesOf(`jobs/${done}/job.json`))).toBe(before);
    const store = createS3ReportStore({ client: s3.client, bucket: s3.bucket });
    for (const batchId of ['b00900', 'b00901']) {
      const report = await store.getJson<BatchReport>(`jobs/${done}/batches/${batchId}.json`);
      expect(report?.results[0]).toMatchObject({
        status: 'failed',
        code: 'target_in_system_lane',
        retryable: false,
      });
    }
  });

  it("never overwrites another file's object: the ref fails target_occupied naming what is there", async () => {
    const holder = defaultKey(fileA);
    const before = sha(await bytesOf(holder));
    const jobId = await manifestJob([ref(fileB, { targetKey: holder })]);
    await drain();
    const [result] = await results(jobId);
    expect(result).toMatchObject({
      status: 'failed',
      code: 'target_occupied',
      retryable: false,
      objectKey: holder,
      occupant: { source: `file:${fileA.id}`, fileId: fileA.id, size: fileA.size },
    });
    expect(sha(await bytesOf(holder))).toBe(before);
    expect((await status(jobId)).failures[0]).toMatchObject({ code: 'target_occupied' });
  });
});

describe('one file per key within a job', () => {
  it('copies the first file on a key and refuses the others naming the line that holds it', async () => {
    const shared = `attachments/shared-${++sequence}/contract.pdf`;
    const jobId = await manifestJob([
      ref(fileA, { targetKey: shared }),
      ref(fileB, { targetKey: shared }),
      ref(fileC),
      ref(fileA, { targetKey: shared }),
    ]);
    await drain();
    const rec = await record(jobId);
    expect(rec.counts).toMatchObject({ refs: 2, duplicates: 1, badLines: 1 });
    expect(rec.badLines[0]).toMatchObject({ line: 2, code: 'target_key_conflict' });
    expect(rec.badLines[0]?.message).toContain(`by line 1 (id "${fileA.id}")`);
    expect(sha(await bytesOf(shared))).toBe(sha(await bytesOf(defaultKey(fileA))));
  });

  it('refuses the second of two files with one name under a template without {fileId}', async () => {
    const res = await post({
      refs: [ref(fileA, { fileName: 'scan.pdf' }), ref(fileB, { fileName: 'scan.pdf' })],
      keyTemplate: 'attachments/{jobId}/{fileName}',
    });
    expect(res.statusCode).toBe(202);
    const answer = JSON.parse(res.body) as {
      jobId: string;
      refs: number;
      badLines: number;
      firstBadLines: unknown[];
    };
    expect(answer).toMatchObject({ refs: 1, badLines: 1 });
    expect(answer.firstBadLines).toEqual([expect.objectContaining({ line: 2, code: 'target_key_conflict' })]);
    await drain();
    expect(sha(await bytesOf(`attachments/${answer.jobId}/scan.pdf`))).toBe(
      sha(await bytesOf(defaultKey(fileA))),
    );
  });
});

describe('what is already at a key', () => {
  const target = () => `attachments/occupied-${++sequence}/file.bin`;

  it('refuses an object without identity metadata, even of the very same size', async () => {
    const key = target();
    await put(key, 'x'.repeat(fileA.size));
    const jobId = await manifestJob([ref(fileA, { targetKey: key })]);
    await drain();
    const [result] = await results(jobId);
    expect(result).toMatchObject({
      status: 'failed',
      code: 'target_occupied',
      occupant: { size: fileA.size },
    });
    expect(result?.status === 'failed' && result.message).toContain('without archive identity');
    expect((await bytesOf(key))?.toString()).toBe('x'.repeat(fileA.size));
  });

  it('refuses an object of another file (another fileid), whatever its size', async () => {
    const key = target();
    await put(key, 'other bytes', { fileid: 'SOMEONE-ELSE', 'ekb-key': 'k' });
    const jobId = await manifestJob([ref(fileA, { targetKey: key })]);
    await drain();
    const [result] = await results(jobId);
    expect(result).toMatchObject({ code: 'target_occupied', occupant: { fileId: 'SOMEONE-ELSE', size: 11 } });
  });

  it('skips the same file, including one archived by an older version (fileid and ekb-key)', async () => {
    const key = target();
    const legacy = target();
    await put(legacy, 'old archive of A', { fileid: fileA.id, 'ekb-key': encodeURIComponent(fileA.key) });
    const first = await manifestJob([ref(fileA, { targetKey: key })]);
    await drain();
    expect((await results(first))[0]?.status).toBe('copied');
    const again = await manifestJob([ref(fileA, { targetKey: key }), ref(fileA, { targetKey: legacy })]);
    await drain();
    expect((await results(again)).map((r) => r.status)).toEqual(['skipped', 'skipped']);
  });

  it('with onConflict "overwrite" replaces the occupant (a versioned bucket keeps the old version)', async () => {
    const key = target();
    await put(key, 'placeholder');
    const res = await post({ refs: [ref(fileA, { targetKey: key })], onConflict: 'overwrite' });
    expect(res.statusCode).toBe(202);
    const { jobId } = JSON.parse(res.body) as { jobId: string };
    expect((await record(jobId)).onConflict).toBe('overwrite');
    await drain();
    expect((await results(jobId))[0]?.status).toBe('copied');
    expect(sha(await bytesOf(key))).toBe(sha(await bytesOf(defaultKey(fileA))));
  });
});

describe('a re-run of an archived job', () => {
  it('makes no downloadurls call and no download GET: every file is skipped by its identity', async () => {
    const lines = files.map((f) => ref(f, { targetKey: `attachments/rerun/${f.id}` }));
    await manifestJob(lines);
    await drain();
    sandbox.resetStats();
    const again = await manifestJob(lines);
    await drain();
    expect((await results(again)).map((r) => r.status)).toEqual(files.map(() => 'skipped'));
    expect(sandbox.stats.downloadUrlCalls).toBe(0);
    expect(sandbox.stats.downloadsStarted).toBe(0);
    expect((await status(again)).totals).toMatchObject({ refs: files.length, skipped: files.length });
  });
});
