/**
 * POST /form-archives end to end: the jobs-api handler given the API Gateway v2 event → the request stored in
 * s3rver under manifests/form-archives/ → fan-out given the S3 event of that upload → the package job planned from
 * the sandbox → the copy worker's package runner → GET /copy-jobs/{id}. Bad bodies are 400s naming the item and
 * field, never a 500, and nothing is stored for them.
 */
import { readFileSync } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3ManifestSource } from '../../../functions/aws/s3-manifest-source.js';
import { createS3TextStore } from '../../../functions/aws/s3-report-store.js';
import type { BatchMessage } from '../../../functions/core/model/batch.js';
import type { JobRecord, JobStatus } from '../../../functions/core/model/job.js';
import { DEFAULT_PACKAGE_STATES } from '../../../functions/core/packages/states.js';
import { createHandler as createFanOut } from '../../../functions/fan-out/handler.js';
import type { S3FanOutResult } from '../../../functions/fan-out/s3-event.js';
import { createHandler as createJobsApi, type JobsApiEvent } from '../../../functions/jobs-api/handler.js';
import { createLogger } from '../../../functions/logger.js';
import { createLambdaContext } from '../../../infra/local/lambda-context.js';
import { s3ObjectCreatedEvent } from '../../helpers/s3-event.js';
import { type Harness, keysUnder, runMessages, startHarness } from './harness.js';

const fixture = (): JobsApiEvent =>
  JSON.parse(
    readFileSync(
      new URL('../../fixtures/events/api-gateway-v2-form-archives-post.json', import.meta.url),
      'utf8',
    ),
  );

let h: Harness;
let jobsApi: ReturnType<typeof createJobsApi>;
let fanOut: ReturnType<typeof createFanOut>;
const queued: BatchMessage[] = [];
let sequence = 0;

beforeAll(async () => {
  h = await startHarness();
  const queue = { sendBatches: async (batch: BatchMessage[]) => void queued.push(...batch) };
  const common = {
    queue,
    store: h.store,
    index: createS3TextStore({ client: h.s3.client, bucket: h.s3.bucket }),
    manifests: createS3ManifestSource({ client: h.s3.client }),
    logger: createLogger({ write: () => {} }),
    bucket: h.s3.bucket,
    keyTemplate: 'attachments/{fileId}/{fileName}',
  };
  jobsApi = createJobsApi(common);
  fanOut = createFanOut({ ...common, formArchives: { source: h.client, states: DEFAULT_PACKAGE_STATES } });
});
afterAll(async () => {
  await h.close();
});

const context = () => createLambdaContext({ functionName: 'jobs-api', timeoutMs: 29_000 });

async function post(body: unknown, headers: Record<string, string> = {}) {
  const event = fixture();
  if (body !== undefined) event.body = typeof body === 'string' ? body : JSON.stringify(body);
  event.headers = { ...event.headers, ...headers };
  const res = (await jobsApi(event, context())) as { statusCode: number; body: string };
  return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, unknown> };
}

async function status(jobId: string): Promise<{ status: number; json: JobStatus }> {
  const event = fixture();
  event.routeKey = 'GET /copy-jobs/{jobId}';
  event.rawPath = `/copy-jobs/${jobId}`;
  event.pathParameters = { jobId };
  (event.requestContext as unknown as { http: { method: string } }).http.method = 'GET';
  delete event.body;
  const res = (await jobsApi(event, context())) as { statusCode: number; body: string };
  return { status: res.statusCode, json: JSON.parse(res.body) as JobStatus };
}

/** S3 tells fan-out about an upload under manifests/form-archives/, as the bucket notification does. */
async function notify(key: string): Promise<S3FanOutResult> {
  sequence += 1;
  const event = s3ObjectCreatedEvent({
    bucket: h.s3.bucket,
    key,
    size: 100,
    eTag: 'e',
    sequencer: String(sequence),
  });
  return (await fanOut(
    event,
    createLambdaContext({ functionName: 'fan-out', timeoutMs: 900_000 }),
  )) as S3FanOutResult;
}

describe('POST /form-archives', () => {
  it('answers 202 with a job id, fan-out plans the request, and the job report follows the packages', async () => {
    const accepted = await post({ codes: ['B26000001', 'P26000001', 'NOSUCH9'] });
    expect(accepted.status).toBe(202);
    const jobId = accepted.json.jobId as string;
    expect(accepted.json).toMatchObject({ status: `/copy-jobs/${jobId}`, request: { kind: 'codes' } });
    const key = `manifests/form-archives/${jobId}.json`;
    expect(await keysUnder(h, 'manifests/form-archives/')).toContain(key);
    // Before fan-out has planned it, the job exists and says so.
    expect(await status(jobId)).toMatchObject({
      status: 200,
      json: { jobId, state: 'running', planning: true },
    });

    const planned = await notify(key);
    expect(planned.jobs).toEqual([expect.objectContaining({ jobId, created: true, badLines: 1 })]);
    await runMessages(h, queued.splice(0));
    const done = await status(jobId);
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({
      state: 'done_with_failures',
      totals: { pending: 0, failed: 0 },
      badLines: [{ line: 3, message: expect.stringMatching(/NOSUCH9/) }],
      packages: { queued: 2, held: 0 },
      source: { kind: 'form-archives', request: `s3://${h.s3.bucket}/${key}` },
    });
    expect(done.json.planning).toBeUndefined();
    for (const root of ['forms/expense/B26000001/', 'forms/payment/P26000001/']) {
      expect((await keysUnder(h, root)).some((k) => k.endsWith('/package.json'))).toBe(true);
    }
    // A redelivered notification finds the job and queues nothing again.
    expect((await notify(key)).jobs).toEqual([expect.objectContaining({ jobId, created: false })]);
    expect(queued).toEqual([]);
  });

  it('archives a date range of one form type', async () => {
    const accepted = await post({ since: '2026-03-03', until: '2026-03-03 23:59:59', formTypes: ['loan'] });
    expect(accepted.status).toBe(202);
    const jobId = accepted.json.jobId as string;
    await notify(`manifests/form-archives/${jobId}.json`);
    const record = await h.store.getJson<JobRecord>(`jobs/${jobId}/job.json`);
    // 2026-03-03 China time, loans: J26000001 (paid) and J26000002 (deleted: held).
    expect(record?.packages).toMatchObject({ queued: 1, held: 1 });
    expect(record?.packages?.heldForms[0]).toMatchObject({
      code: 'J26000002',
      reason: expect.stringMatching(/deleted/),
    });
    queued.splice(0);
  });

  it.each([
    ['not JSON', '{"codes": [', /not valid JSON/],
    ['not an object', '["B26000001"]', /JSON object/],
    ['nothing to archive', {}, /exactly one of "codes", "ids" and "since"/],
    ['two kinds at once', { codes: ['A'], ids: ['B'] }, /exactly one of/],
    ['codes not an array', { codes: 'B26000001' }, /"codes" must be an array/],
    ['an empty code', { codes: ['B26000001', ' '] }, /codes\[1\] must be a non-empty string/],
    ['a code with a control character', { ids: ['ok', 'a\u0007b'] }, /ids\[1\]/],
    ['an impossible date', { since: '2026-02-30' }, /"since"/],
    [
      'until before since',
      { since: '2026-03-05', until: '2026-03-01' },
      /"until" must not be before "since"/,
    ],
    ['an unknown form type', { since: '2026-03-01', formTypes: ['expense', 'invoice'] }, /formTypes\[1\]/],
    ['an unknown field', { codes: ['A'], keyTemplate: 'x/{fileId}' }, /unknown field "keyTemplate"/],
    ['until without since', { codes: ['A'], until: '2026-03-01' }, /go with "since" only/],
  ])('answers 400 naming the problem for %s, and stores nothing', async (_what, body, message) => {
    const before = await keysUnder(h, 'manifests/form-archives/');
    const res = await post(body);
    expect(res.status).toBe(400);
    expect((res.json.error as { message: string }).message).toMatch(message);
    expect(await keysUnder(h, 'manifests/form-archives/')).toEqual(before);
  });

  it('answers 415 for a body that is not declared JSON and 405 for GET', async () => {
    expect((await post({ codes: ['A'] }, { 'content-type': 'text/plain' })).status).toBe(415);
    const event = fixture();
    event.routeKey = '$default';
    (event.requestContext as unknown as { http: { method: string } }).http.method = 'GET';
    const res = (await jobsApi(event, context())) as { statusCode: number };
    expect(res.statusCode).toBe(405);
  });

  it('records a hand-dropped request it cannot use as a failed job with the reason', async () => {
    const key = 'manifests/form-archives/by-hand.json';
    await h.s3.client.send(
      new PutObjectCommand({
        Bucket: h.s3.bucket,
        Key: key,
        Body: JSON.stringify({ v: 1, request: { kind: 'codes', codes: [] } }),
      }),
    );
    const result = await notify(key);
    const job = result.jobs[0];
    expect(job).toMatchObject({ created: true, refs: 0, error: expect.stringMatching(/"codes" is empty/) });
    const record = await h.store.getJson<JobRecord>(`jobs/${job?.jobId}/job.json`);
    expect(record?.error).toMatchObject({ code: 'invalid_input' });
  });
});
