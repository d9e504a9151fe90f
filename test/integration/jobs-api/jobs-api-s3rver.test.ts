/**
 * The jobs API over real sockets: HTTP requests to the local API Gateway emulator (payload v2 events, as AWS sends
 * them) → the jobs-api handler → job records in s3rver. The copy queue is a recorder of the BatchQueue port (no
 * SQS here); batch reports are written into s3rver the way the copy worker writes them.
 */
import { readFileSync } from 'node:fs';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3ManifestSource } from '../../../functions/aws/s3-manifest-source.js';
import { createS3ReportStore, createS3TextStore } from '../../../functions/aws/s3-report-store.js';
import { batchReportKey, jobRecordKey } from '../../../functions/core/jobs/keys.js';
import type { JobRecord, JobStatus } from '../../../functions/core/model/job.js';
import type { ReportStore } from '../../../functions/core/ports.js';
import { createHandler } from '../../../functions/jobs-api/handler.js';
import { createLogger } from '../../../functions/logger.js';
import { type ApiHandler, type HttpApi, startHttpApi } from '../../../infra/local/http-api.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';
import { batchReport, copied, failed, recordingQueue, skipped } from '../../unit/core/jobs/job-fakes.js';

const postFixture = JSON.parse(
  readFileSync(new URL('../../fixtures/events/api-gateway-v2-copy-jobs-post.json', import.meta.url), 'utf8'),
) as { body: string };

let s3: TestS3;
let api: HttpApi;
let store: ReportStore;
const queue = recordingQueue();

beforeAll(async () => {
  s3 = await startS3rver();
  store = createS3ReportStore({ client: s3.client, bucket: s3.bucket });
  const handler = createHandler({
    queue,
    store,
    index: createS3TextStore({ client: s3.client, bucket: s3.bucket }),
    manifests: createS3ManifestSource({ client: s3.client }),
    logger: createLogger({ write: () => {} }),
    bucket: s3.bucket,
    keyTemplate: 'attachments/{fileId}/{fileName}',
  }) as unknown as ApiHandler;
  api = await startHttpApi({
    routes: [
      { method: 'POST', path: '/copy-jobs', functionName: 'jobs-api', handler },
      { method: 'GET', path: '/copy-jobs/{jobId}', functionName: 'jobs-api', handler },
    ],
  });
  await s3.client.send(
    new PutObjectCommand({
      Bucket: s3.bucket,
      Key: 'manifests/六月 refs.csv',
      Body: readFileSync(new URL('../../fixtures/manifests/refs.csv', import.meta.url)),
    }),
  );
});

afterAll(async () => {
  await api?.close();
  await s3?.close();
});

const post = (body: string, contentType = 'application/json') =>
  fetch(`${api.url}/copy-jobs`, { method: 'POST', headers: { 'content-type': contentType }, body });
const getStatus = (jobId: string) => fetch(`${api.url}/copy-jobs/${jobId}`);

async function storedJob(jobId: string): Promise<JobRecord> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: jobRecordKey(jobId) }));
  return JSON.parse(await out.Body!.transformToString('utf-8')) as JobRecord;
}

describe('jobs API over HTTP and s3rver', () => {
  it('POST with refs answers 202, queues every batch and stores job.json; GET follows the batch reports', async () => {
    const before = queue.messages.length;
    const created = await post(postFixture.body);
    expect(created.status).toBe(202);
    const answer = (await created.json()) as { jobId: string; refs: number; batches: number; status: string };
    expect(answer).toMatchObject({ refs: 2, batches: 1, status: `/copy-jobs/${answer.jobId}` });
    expect(created.headers.get('location')).toBe(answer.status);
    expect(answer.jobId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{16}$/);

    const sent = queue.messages.slice(before);
    expect(sent.map((m) => m.jobId)).toEqual([answer.jobId]);
    expect(sent[0]?.keyTemplate).toBe('attachments/{jobId}/{fileId}/{fileName}');
    expect((await storedJob(answer.jobId)).counts).toEqual({
      refs: 2,
      batches: 1,
      duplicates: 0,
      badLines: 0,
    });

    const pending = (await (await getStatus(answer.jobId)).json()) as JobStatus;
    expect(pending.state).toBe('running');
    expect(pending.totals).toEqual({ refs: 2, copied: 0, skipped: 0, failed: 0, pending: 2, bytes: 0 });

    // First attempt: one copied, one retryable failure → still pending; the final attempt fails it for good.
    await store.putJson(
      batchReportKey(answer.jobId, 'b00001'),
      batchReport('b00001', [copied('61sbwX3DEAgk00', 5000), failed('136634573449', true)], {
        jobId: answer.jobId,
      }),
    );
    const midway = (await (await getStatus(answer.jobId)).json()) as JobStatus;
    expect(midway.totals).toMatchObject({ copied: 1, failed: 0, pending: 1, bytes: 5000 });

    await store.putJson(
      batchReportKey(answer.jobId, 'b00001'),
      batchReport('b00001', [skipped('61sbwX3DEAgk00'), failed('136634573449', true)], {
        jobId: answer.jobId,
        attempt: 5,
        final: true,
      }),
    );
    const done = await getStatus(answer.jobId);
    expect(done.status).toBe(200);
    expect(done.headers.get('cache-control')).toBe('no-store');
    const status = (await done.json()) as JobStatus;
    expect(status.state).toBe('done_with_failures');
    expect(status.totals).toEqual({ refs: 2, copied: 0, skipped: 1, failed: 1, pending: 0, bytes: 0 });
    expect(status.failures).toEqual([
      expect.objectContaining({
        id: '136634573449',
        code: 'download_http_503',
        retryable: true,
        batchId: 'b00001',
      }),
    ]);
  });

  it('POST with a manifest reads it from the bucket and reports its bad lines', async () => {
    const created = await post(JSON.stringify({ manifest: `s3://${s3.bucket}/manifests/六月 refs.csv` }));
    expect(created.status).toBe(202);
    const answer = (await created.json()) as {
      jobId: string;
      refs: number;
      badLines: number;
      duplicates: number;
    };
    expect(answer).toMatchObject({ refs: 4, badLines: 2, duplicates: 1 });
    const status = (await (await getStatus(answer.jobId)).json()) as JobStatus;
    expect(status.badLines.map((b) => b.line)).toEqual([6, 7]);
    expect(status.source).toEqual({ kind: 'api', manifest: `s3://${s3.bucket}/manifests/六月 refs.csv` });
  });

  it('answers malformed JSON, bad refs and foreign manifests with 400 and queues nothing', async () => {
    const before = queue.messages.length;
    for (const body of [
      '{"refs": [{"id": "1", "key": ',
      JSON.stringify({ refs: [{ id: '1', key: 'DP:{not json' }] }),
      JSON.stringify({ manifest: 's3://somebody-else/manifests/a.csv' }),
      JSON.stringify({ manifest: `s3://${s3.bucket}/manifests/missing.csv` }),
    ]) {
      const response = await post(body);
      expect(response.status).toBe(400);
      const answer = (await response.json()) as { error: { code: string; message: string } };
      expect(answer.error.message.length).toBeGreaterThan(10);
    }
    expect(queue.messages.length).toBe(before);
  });

  it('answers 404 for an unknown job and 400 for a path-like job id', async () => {
    expect((await getStatus('20250101T000000Z-0000000000000000')).status).toBe(404);
    expect((await getStatus('..%2F..%2Fsync%2Fstate')).status).toBe(400);
    expect((await getStatus('%2E%2E%2Fjobs')).status).toBe(400);
    expect((await getStatus('job%00id')).status).toBe(400);
  });
});
