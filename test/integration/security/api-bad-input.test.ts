/**
 * Hostile input at the edges: both API handlers (resolve against the sandbox, jobs against s3rver) answer
 * oversized bodies with 413, deeply nested JSON with 400 (no stack overflow, no 500), other content types with 415,
 * and do no upstream work for any of them. Fan-out streams a 200,000-line manifest: the first batches are queued
 * long before the source has been read to the end.
 */
import type { APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createS3ReportStore, createS3TextStore } from '../../../functions/aws/s3-report-store.js';
import { compose } from '../../../functions/compose/composition.js';
import { resolveHandlerDeps } from '../../../functions/compose/ekuaibao.js';
import { loadConfig } from '../../../functions/config.js';
import type { BatchMessage } from '../../../functions/core/model/batch.js';
import type { JobRecord } from '../../../functions/core/model/job.js';
import { type BatchQueue, type ManifestSource, silentLogger } from '../../../functions/core/ports.js';
import { createHandler as createFanOutHandler } from '../../../functions/fan-out/handler.js';
import { createHandler as createJobsHandler } from '../../../functions/jobs-api/handler.js';
import { createHandler as createResolveHandler } from '../../../functions/resolve/handler.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { s3ObjectCreatedEvent } from '../../helpers/s3-event.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';

let sandbox: EkuaibaoSandbox;
let s3: TestS3;
const sent: BatchMessage[] = [];
const recordingQueue: BatchQueue = {
  async sendBatches(messages) {
    sent.push(...messages);
  },
};

const context = () =>
  ({ awsRequestId: 'req-1', getRemainingTimeInMillis: () => 28_000 }) as unknown as Context;

function apiEvent(
  method: string,
  path: string,
  body: string | undefined,
  headers: Record<string, string> = {},
) {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    requestContext: { requestId: 'api-req-1', http: { method, path } },
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body }),
  };
}

type Answer = Exclude<APIGatewayProxyResultV2, string> & { statusCode: number; body: string };

beforeAll(async () => {
  [sandbox, s3] = await Promise.all([startEkuaibaoSandbox({ forms: [] }), startS3rver()]);
  for (const [k, v] of Object.entries(s3.env)) vi.stubEnv(k, v);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all([sandbox?.close(), s3?.close()]);
});

const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('resolve API on hostile bodies', () => {
  const handler = () =>
    createResolveHandler(
      resolveHandlerDeps(
        compose(
          loadConfig({
            EKB_BASE_URL: sandbox.baseUrl,
            EKB_APP_KEY: sandbox.appKey,
            EKB_APP_SECURITY: sandbox.appSecurity,
          }),
          { logger: silentLogger },
        ),
      ),
    );
  const post = async (body: string, headers?: Record<string, string>) =>
    (await handler()(
      apiEvent('POST', '/attachments/download-urls', body, headers) as never,
      context(),
    )) as Answer;

  it.each([
    ['an array nested 100,000 deep', deepArray(100_000)],
    ['an object nested 100,000 deep', deepObject(100_000)],
    ['a ref whose key is nested 50,000 deep', `[{"id":"a","key":${deepArray(50_000)},"expiration":60}]`],
    ['a ref whose id is an object nested 50,000 deep', `[{"id":${deepObject(50_000)},"key":"k"}]`],
    ['truncated JSON', '[{"id":"a","key":"k"'],
    ['not JSON at all', '\u0000\u0001garbage'],
  ])('answers %s with 400 and calls no upstream', async (_what, body) => {
    sandbox.resetStats();
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe('invalid_input');
    expect(sandbox.stats.downloadUrlCalls).toBe(0);
  });

  it('answers a body over 2 MiB with 413 before parsing it', async () => {
    sandbox.resetStats();
    const res = await post(`[${'{"id":"a","key":"k"},'.repeat(120_000)}{"id":"a","key":"k"}]`);
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('too_large');
    expect(sandbox.stats.downloadUrlCalls).toBe(0);
  });

  it.each([
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
  ])('answers Content-Type %s with 415', async (type) => {
    sandbox.resetStats();
    const res = await post('[{"id":"a","key":"k"}]', { 'content-type': type });
    expect(res.statusCode).toBe(415);
    expect(JSON.parse(res.body).error.code).toBe('unsupported_media_type');
    expect(sandbox.stats.downloadUrlCalls).toBe(0);
  });
});

describe('jobs API on hostile bodies', () => {
  const handler = () =>
    createJobsHandler({
      queue: recordingQueue,
      store: createS3ReportStore({ client: s3.client, bucket: s3.bucket }),
      index: createS3TextStore({ client: s3.client, bucket: s3.bucket }),
      manifests: { open: async () => ({ body: (async function* () {})() }) },
      logger: silentLogger,
      bucket: s3.bucket,
      keyTemplate: 'attachments/{fileId}/{fileName}',
    });
  const post = async (body: string, headers?: Record<string, string>) =>
    (await handler()(apiEvent('POST', '/copy-jobs', body, headers) as never, context())) as Answer;

  it.each([
    ['an array nested 100,000 deep', deepArray(100_000)],
    ['an object nested 100,000 deep', deepObject(100_000)],
    ['refs nested 50,000 deep', `{"refs":${deepArray(50_000)}}`],
    [
      'a ref with a deeply nested fileName',
      `{"refs":[{"id":"a","key":"k","fileName":${deepObject(50_000)}}]}`,
    ],
    ['truncated JSON', '{"refs":[{"id":"a"'],
  ])('answers %s with 400 and queues nothing', async (_what, body) => {
    sent.length = 0;
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe('invalid_input');
    expect(sent).toEqual([]);
  });

  it('answers a body over 5 MiB with 413 and queues nothing', async () => {
    sent.length = 0;
    const ref = '{"id":"a","key":"openapi-0000-0000-0000-report.pdf"},';
    const res = await post(
      `{"refs":[${ref.repeat(Math.ceil((5.2 * 1024 * 1024) / ref.length))}{"id":"b","key":"k"}]}`,
    );
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('too_large');
    expect(sent).toEqual([]);
  });

  it.each(['text/csv', 'text/plain; charset=utf-8', 'application/octet-stream'])(
    'answers Content-Type %s with 415',
    async (type) => {
      sent.length = 0;
      const res = await post('{"refs":[{"id":"a","key":"k"}]}', { 'content-type': type });
      expect(res.statusCode).toBe(415);
      expect(JSON.parse(res.body).error.code).toBe('unsupported_media_type');
      expect(sent).toEqual([]);
    },
  );
});

describe('fan-out on a huge manifest', () => {
  it('streams a 200,000-line JSONL manifest: batches are queued while it is still being read', async () => {
    const LINES = 200_000;
    let pulled = 0;
    let pulledAtFirstSend: number | undefined;
    let queuedRefs = 0;
    // The manifest is generated as it is read, 500 lines a chunk; nothing holds it whole.
    async function* manifest(): AsyncGenerator<Uint8Array> {
      for (let start = 0; start < LINES; start += 500) {
        let chunk = '';
        for (let i = start; i < Math.min(LINES, start + 500); i++) {
          chunk += `${JSON.stringify({ id: `h${i}`, key: `openapi-${i}-scan ${i}.pdf` })}\n`;
        }
        pulled = Math.min(LINES, start + 500);
        yield Buffer.from(chunk, 'utf8');
      }
    }
    const manifests: ManifestSource = { open: async () => ({ body: manifest() }) };
    const queue: BatchQueue = {
      async sendBatches(messages) {
        pulledAtFirstSend ??= pulled;
        for (const m of messages) queuedRefs += m.refs.length;
      },
    };
    const store = createS3ReportStore({ client: s3.client, bucket: s3.bucket });
    const fanOut = createFanOutHandler({
      queue,
      store,
      manifests,
      logger: silentLogger,
      bucket: s3.bucket,
      keyTemplate: 'attachments/{fileId}/{fileName}',
    });
    const event = s3ObjectCreatedEvent({
      bucket: s3.bucket,
      key: 'manifests/huge.jsonl',
      size: 12_000_000,
      eTag: 'e1',
      sequencer: '01',
    });
    const out = (await fanOut(event, {
      awsRequestId: 'f',
      getRemainingTimeInMillis: () => 600_000,
    } as unknown as Context)) as { jobs: Array<{ jobId: string; refs: number }> };

    expect(out.jobs[0]?.refs).toBe(LINES);
    expect(queuedRefs).toBe(LINES);
    // The first batches left while less than a tenth of the manifest had been read.
    expect(pulledAtFirstSend).toBeDefined();
    expect(pulledAtFirstSend as number).toBeLessThan(LINES / 10);
    const record = await store.getJson<JobRecord>(`jobs/${out.jobs[0]?.jobId}/job.json`);
    expect(record?.counts).toMatchObject({ refs: LINES, badLines: 0, batches: LINES / 100 });
  });
});
