import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { batchReportKey, jobRecordKey } from '../../../functions/core/jobs/keys.js';
import type { JobRecord, JobStatus } from '../../../functions/core/model/job.js';
import { createHandler, type JobsApiEvent } from '../../../functions/jobs-api/handler.js';
import type { JobsApiDeps } from '../../../functions/jobs-api/routes.js';
import { createLogger } from '../../../functions/logger.js';
import { createLambdaContext } from '../../../infra/local/lambda-context.js';
import { MemoryTexts } from '../core/copy/fakes.js';
import {
  batchReport,
  copied,
  failed,
  memoryManifests,
  memoryStore,
  recordingQueue,
} from '../core/jobs/job-fakes.js';

const fixture = (name: string): JobsApiEvent =>
  JSON.parse(readFileSync(new URL(`../../fixtures/events/${name}`, import.meta.url), 'utf8'));
const postEvent = (body?: unknown, headers: Record<string, string> = {}): JobsApiEvent => {
  const event = fixture('api-gateway-v2-copy-jobs-post.json');
  if (body !== undefined) event.body = typeof body === 'string' ? body : JSON.stringify(body);
  event.headers = { ...event.headers, ...headers };
  return event;
};
const getEvent = (jobId?: string): JobsApiEvent => {
  const event = fixture('api-gateway-v2-copy-jobs-get.json');
  if (jobId !== undefined) {
    event.rawPath = `/copy-jobs/${encodeURIComponent(jobId)}`;
    event.pathParameters = { jobId };
  }
  return event;
};
/** What a `$default` route (or a proxy) delivers: no declared route key, the path as sent. */
const rawEvent = (method: string, rawPath: string, body?: string): JobsApiEvent => {
  const event = fixture('api-gateway-v2-copy-jobs-post.json');
  event.routeKey = '$default';
  event.rawPath = rawPath;
  const requestContext = event.requestContext as unknown as { routeKey: string; http: { method: string } };
  requestContext.routeKey = '$default';
  requestContext.http.method = method;
  delete event.pathParameters;
  if (body === undefined) delete event.body;
  else event.body = body;
  return event;
};

const BUCKET = 'ekb-archive-test';
const JOB_ID = '20250623T051301Z-4f1c9a07be52d318';

function setup(overrides: Partial<JobsApiDeps> = {}) {
  const store = memoryStore();
  const queue = recordingQueue();
  const lines: Array<Record<string, unknown>> = [];
  const index = new MemoryTexts();
  const deps: JobsApiDeps = {
    store,
    index,
    queue,
    manifests: memoryManifests({
      [`${BUCKET}/manifests/june.jsonl`]: '{"id":"1","key":"k1"}\nnot json\n{"id":"2","key":"k2"}\n',
      [`${BUCKET}/manifests/bad-header.csv`]: 'name,key\nx,k\n',
    }),
    logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) }),
    bucket: BUCKET,
    keyTemplate: 'attachments/{fileId}/{fileName}',
    now: () => new Date('2025-06-23T05:13:01.204Z'),
    newJobId: () => JOB_ID,
    ...overrides,
  };
  return { store, index, queue, lines, deps, handler: createHandler(deps) };
}

const context = () => createLambdaContext({ functionName: 'jobs-api', timeoutMs: 29_000 });
const json = (response: { body: string; isBase64Encoded?: boolean }) =>
  JSON.parse(
    response.isBase64Encoded ? gunzipSync(Buffer.from(response.body, 'base64')).toString() : response.body,
  );

describe('POST /copy-jobs', () => {
  it('queues the refs of the fixture request and answers 202 with the job id, counts and where to look', async () => {
    const { handler, queue, store } = setup();
    const response = await handler(postEvent(), context());
    expect(response.statusCode).toBe(202);
    expect(response.headers.location).toBe(`/copy-jobs/${JOB_ID}`);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(json(response)).toEqual({
      jobId: JOB_ID,
      refs: 2,
      batches: 1,
      duplicates: 0,
      badLines: 0,
      status: `/copy-jobs/${JOB_ID}`,
    });
    expect(queue.messages).toHaveLength(1);
    expect(queue.messages[0]).toMatchObject({
      jobId: JOB_ID,
      batchId: 'b00001',
      keyTemplate: 'attachments/{jobId}/{fileId}/{fileName}',
    });
    expect(queue.messages[0]?.refs.map((r) => r.id)).toEqual(['61sbwX3DEAgk00', '136634573449']);
    expect((store.data.get(jobRecordKey(JOB_ID)) as JobRecord).source).toEqual({ kind: 'api' });
  });

  it('uses the configured key template when the request sends none, and drops duplicate refs', async () => {
    const { handler, queue } = setup();
    const ref = { id: '1', key: 'k' };
    const response = await handler(postEvent({ refs: [ref, ref] }), context());
    expect(json(response)).toMatchObject({ refs: 1, duplicates: 1 });
    expect(queue.messages[0]?.keyTemplate).toBe('attachments/{fileId}/{fileName}');
  });

  it('starts a job from a manifest in the archive bucket and reports its bad lines', async () => {
    const { handler, queue, store } = setup();
    const response = await handler(postEvent({ manifest: `s3://${BUCKET}/manifests/june.jsonl` }), context());
    expect(response.statusCode).toBe(202);
    expect(json(response)).toMatchObject({
      refs: 2,
      badLines: 1,
      firstBadLines: [{ line: 2, message: 'line is not valid JSON' }],
    });
    expect(queue.messages.flatMap((m) => m.refs.map((r) => r.id))).toEqual(['1', '2']);
    expect((store.data.get(jobRecordKey(JOB_ID)) as JobRecord).source).toEqual({
      kind: 'api',
      manifest: `s3://${BUCKET}/manifests/june.jsonl`,
    });
  });

  it.each([
    ['malformed JSON', '{"refs": [', 400, 'invalid_input', /not valid JSON/],
    ['a ref without a key', { refs: [{ id: '1' }] }, 400, 'invalid_input', /refs\[0\]: "key" is missing/],
    [
      'a manifest in another bucket',
      { manifest: 's3://other/manifests/a.csv' },
      400,
      'invalid_input',
      /archive bucket/,
    ],
    [
      'a missing manifest',
      { manifest: `s3://${BUCKET}/manifests/nope.csv` },
      400,
      'manifest_not_found',
      /does not exist/,
    ],
    [
      'a manifest whose header lacks "id"',
      { manifest: `s3://${BUCKET}/manifests/bad-header.csv` },
      400,
      'invalid_input',
      /"id"/,
    ],
  ])('answers %s with a clear error and queues nothing', async (_what, body, status, code, message) => {
    const { handler, queue, store } = setup();
    const response = await handler(postEvent(body), context());
    expect(response.statusCode).toBe(status);
    const answer = json(response);
    expect(answer.error.code).toBe(code);
    expect(answer.error.message).toMatch(message);
    expect(answer.error.requestId).toBe('MJ4aXhcqIAMEVbA=');
    expect(queue.calls).toBe(0);
    expect(store.data.size).toBe(0);
  });

  it('answers 413 past the ref limit', async () => {
    const { handler } = setup({ maxRefs: 2 });
    const refs = Array.from({ length: 3 }, (_, i) => ({ id: `${i}`, key: `k${i}` }));
    const response = await handler(postEvent({ refs }), context());
    expect(response.statusCode).toBe(413);
    expect(json(response).error.code).toBe('too_large');
  });

  it('answers 415 to a body that is not JSON', async () => {
    const { handler } = setup();
    const response = await handler(postEvent(undefined, { 'content-type': 'text/csv' }), context());
    expect(response.statusCode).toBe(415);
  });

  it('answers a generic 500 when the queue fails unexpectedly, and logs the real error', async () => {
    const { handler, lines } = setup({
      queue: {
        async sendBatches() {
          throw new Error('socket hang up at https://sqs.ap-east-1.amazonaws.com/?X-Amz-Signature=abc');
        },
      },
    });
    const response = await handler(postEvent(), context());
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('socket');
    const logged = JSON.stringify(lines.find((l) => l.message === 'request failed'));
    expect(logged).toContain('socket hang up');
    expect(logged).not.toContain('X-Amz-Signature=abc');
  });
});

describe('GET /copy-jobs/{jobId}', () => {
  async function seeded() {
    const s = setup();
    await s.handler(postEvent(), context());
    await s.store.putJson(
      batchReportKey(JOB_ID, 'b00001'),
      batchReport('b00001', [copied('61sbwX3DEAgk00', 2048), failed('136634573449', false)], {
        jobId: JOB_ID,
        final: true,
      }),
    );
    return s;
  }

  it('answers 200 with the totals and failures of the fixture job', async () => {
    const { handler } = await seeded();
    const response = await handler(getEvent(), context());
    expect(response.statusCode).toBe(200);
    const status = json(response) as JobStatus;
    expect(status.jobId).toBe(JOB_ID);
    expect(status.state).toBe('done_with_failures');
    expect(status.totals).toEqual({ refs: 2, copied: 1, skipped: 0, failed: 1, pending: 0, bytes: 2048 });
    expect(status.failures).toEqual([
      expect.objectContaining({ id: '136634573449', code: 'not_found', batchId: 'b00001' }),
    ]);
  });

  it('answers 404 for a job that does not exist', async () => {
    const { handler } = setup();
    const response = await handler(getEvent('20250101T000000Z-nothing'), context());
    expect(response.statusCode).toBe(404);
    expect(json(response).error.code).toBe('job_not_found');
  });

  it.each(['../../secret', 'a/b', '..', '%zz'])('answers 400 to the path-like job id %s', async (jobId) => {
    const { handler, store } = setup();
    const event =
      jobId === '%zz'
        ? rawEvent('GET', '/copy-jobs/%zz')
        : rawEvent('GET', `/copy-jobs/${encodeURIComponent(jobId)}`);
    const response = await handler(event, context());
    expect(response.statusCode).toBe(400);
    expect(store.reads).toEqual([]);
  });
});

describe('routing without declared routes ($default)', () => {
  it('serves POST /copy-jobs and GET /copy-jobs/{id} from the raw path', async () => {
    const { handler } = setup();
    const created = await handler(
      rawEvent('POST', '/copy-jobs/', JSON.stringify({ refs: [{ id: '1', key: 'k' }] })),
      context(),
    );
    expect(created.statusCode).toBe(202);
    const read = await handler(rawEvent('GET', `/copy-jobs/${JOB_ID}`), context());
    expect(read.statusCode).toBe(200);
    expect(json(read).totals.pending).toBe(1);
  });

  it('answers 404 to an unknown path and 405 (with Allow) to a wrong method', async () => {
    const { handler } = setup();
    expect((await handler(rawEvent('GET', '/jobs'), context())).statusCode).toBe(404);
    expect((await handler(rawEvent('GET', '/copy-jobs/a/b'), context())).statusCode).toBe(404);
    const put = await handler(rawEvent('PUT', '/copy-jobs'), context());
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe('POST');
    const del = await handler(rawEvent('DELETE', `/copy-jobs/${JOB_ID}`), context());
    expect(del.statusCode).toBe(405);
    expect(del.headers.allow).toBe('GET');
  });

  it('answers 500 without crashing when its dependencies cannot be built', async () => {
    const handler = createHandler(
      () => {
        throw new Error('EKB_BUCKET must be set');
      },
      createLogger({ write: () => {} }),
    );
    const response = await handler(postEvent(), context());
    expect(response.statusCode).toBe(500);
    expect(json(response).error.code).toBe('internal_error');
  });
});
