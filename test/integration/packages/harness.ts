/**
 * Form packages end to end over real sockets: the 合思 sandbox → the real client → package planning and job
 * creation (a recording queue) → the copy worker's package runner (runBatchMessage, as the copy function runs it)
 * → undici downloads → the S3 sink → s3rver. The queue is drained here the way SQS would: a message handed back
 * is received again with the next attempt number, up to the receive limit.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3ReportStore, createS3TextStore } from '../../../functions/aws/s3-report-store.js';
import { createS3Sink } from '../../../functions/aws/s3-sink.js';
import { type RunBatchDeps, runBatchMessage } from '../../../functions/core/copy/run-batch.js';
import {
  createUndiciDownloader,
  type UndiciDownloader,
} from '../../../functions/core/copy/undici-downloader.js';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../../functions/core/ekuaibao/client.js';
import type { BatchMessage, BatchReport } from '../../../functions/core/model/batch.js';
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';
import type { JobRecord } from '../../../functions/core/model/job.js';
import type { PackageIndex } from '../../../functions/core/model/package.js';
import { archivedIn } from '../../../functions/core/packages/form-archive-job.js';
import { indexKey, packageRoot, packageVersion } from '../../../functions/core/packages/layout.js';
import { createPackageJob, type FormItem } from '../../../functions/core/packages/package-job.js';
import { createPackageRunner } from '../../../functions/core/packages/run-packages.js';
import { DEFAULT_PACKAGE_STATES } from '../../../functions/core/packages/states.js';
import { type ReportStore, silentLogger } from '../../../functions/core/ports.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxOptions } from '../../../infra/local/sandbox/types.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';

export const MAX_RECEIVES = 5;

export interface Harness {
  sandbox: EkuaibaoSandbox;
  s3: TestS3;
  client: EkuaibaoClient;
  store: ReportStore;
  deps: RunBatchDeps;
  close(): Promise<void>;
}

export async function startHarness(options: SandboxOptions = {}): Promise<Harness> {
  const [sandbox, s3] = await Promise.all([startEkuaibaoSandbox(options), startS3rver()]);
  const client = createEkuaibaoClient({
    baseUrl: sandbox.baseUrl,
    credentials: () => ({ appKey: sandbox.appKey, appSecurity: sandbox.appSecurity }),
    backoff: { baseMs: 1, maxMs: 5 },
    requestTimeoutMs: 5_000,
  });
  const downloader: UndiciDownloader = createUndiciDownloader({
    headersTimeoutMs: 5_000,
    bodyTimeoutMs: 10_000,
  });
  const store = createS3ReportStore({ client: s3.client, bucket: s3.bucket });
  const deps: RunBatchDeps = {
    resolver: client,
    formFiles: client,
    packages: createPackageRunner({ source: client }),
    sink: createS3Sink({ client: s3.client, bucket: s3.bucket }),
    downloader,
    logger: silentLogger,
    sleep: async () => {},
    reports: store,
    index: createS3TextStore({ client: s3.client, bucket: s3.bucket }),
    reportPrefix: 'jobs/',
    defaultKeyTemplate: 'attachments/{fileId}/{fileName}',
    concurrency: 4,
  };
  return {
    sandbox,
    s3,
    client,
    store,
    deps,
    async close() {
      await Promise.all([client.close(), downloader.close()]);
      await Promise.all([sandbox.close(), s3.close()]);
    },
  };
}

let jobs = 0;

export interface Archived {
  jobId: string;
  record: JobRecord | undefined;
  messages: BatchMessage[];
  /** The latest report of every batch. */
  reports: BatchReport[];
  results: BatchReport['results'];
}

/** Plans and queues the forms as one package job (messages kept, not run). */
export async function queueForms(
  h: Harness,
  forms: FormItem[],
): Promise<{ jobId: string; record: JobRecord | undefined; messages: BatchMessage[] }> {
  jobs += 1;
  const jobId = `pkgjob-${jobs}`;
  const messages: BatchMessage[] = [];
  const { record } = await createPackageJob(
    { jobId, source: { kind: 'cli-form-archives' }, forms },
    {
      plan: {
        source: h.client,
        states: DEFAULT_PACKAGE_STATES,
        archived: archivedIn(h.store),
      },
      queue: { sendBatches: async (batch) => void messages.push(...batch) },
      store: h.store,
    },
  );
  return { jobId, record, messages };
}

/** Runs messages as the queue would: retried ones come back with the next attempt number. */
export async function runMessages(h: Harness, messages: BatchMessage[], deps: Partial<RunBatchDeps> = {}) {
  let queue = messages.map((message) => ({ message, attempt: 1 }));
  while (queue.length > 0) {
    const next: typeof queue = [];
    for (const { message, attempt } of queue) {
      const out = await runBatchMessage(
        { message, attempt, maxReceiveCount: MAX_RECEIVES },
        { ...h.deps, ...deps },
      );
      if (out.retry) next.push({ message, attempt: attempt + 1 });
    }
    queue = next;
  }
}

export async function formsById(h: Harness, ids: string[]): Promise<FormItem[]> {
  const out: FormItem[] = [];
  for (const flowId of ids) {
    const form = await h.client.getFlowDetails({ flowId });
    if (!form) throw new Error(`the sandbox has no form ${flowId}`);
    out.push({ form });
  }
  return out;
}

/** Queues the forms and runs the job to the end. */
export async function archive(h: Harness, ids: string[]): Promise<Archived> {
  const queued = await queueForms(h, await formsById(h, ids));
  await runMessages(h, queued.messages);
  const reports: BatchReport[] = [];
  for (const m of queued.messages) {
    const r = await h.store.getJson<BatchReport>(`jobs/${queued.jobId}/batches/${m.batchId}.json`);
    if (r) reports.push(r);
  }
  return { ...queued, reports, results: reports.flatMap((r) => r.results) };
}

export async function stored(
  h: Harness,
  key: string,
): Promise<{ sha256: string; size: number; body: Buffer }> {
  const out = await h.s3.client.send(new GetObjectCommand({ Bucket: h.s3.bucket, Key: key }));
  const chunks: Buffer[] = [];
  for await (const c of out.Body as Readable) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  return { sha256: createHash('sha256').update(body).digest('hex'), size: body.length, body };
}

export async function keysUnder(h: Harness, prefix: string): Promise<string[]> {
  const out = await h.s3.client.send(new ListObjectsV2Command({ Bucket: h.s3.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string).sort();
}

export function rootOf(form: EkuaibaoForm): string {
  return packageRoot(form.formType as string, form.code as string);
}

export async function indexOf(h: Harness, form: EkuaibaoForm): Promise<PackageIndex | undefined> {
  return h.store.getJson<PackageIndex>(indexKey(rootOf(form), packageVersion(form.updateTime as number)));
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
