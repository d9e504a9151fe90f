import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { writeBatchIndex } from '../../../functions/core/jobs/file-index.js';
import { jobRecordKey } from '../../../functions/core/jobs/keys.js';
import type { CopyResult } from '../../../functions/core/model/copy-result.js';
import { silentLogger } from '../../../functions/core/ports.js';
import { createHandler, type JobsApiEvent } from '../../../functions/jobs-api/handler.js';
import type { JobsApiDeps } from '../../../functions/jobs-api/routes.js';
import { createLambdaContext } from '../../../infra/local/lambda-context.js';
import { MemoryTexts } from '../core/copy/fakes.js';
import { memoryManifests, memoryStore, recordingQueue } from '../core/jobs/job-fakes.js';

const JOB = '20260301T000000Z-0123456789abcdef';

function copied(n: number): CopyResult {
  const id = `F${String(n).padStart(4, '0')}`;
  const objectKey = `attachments/${id}/报销单, ${n}.pdf`;
  return {
    status: 'copied',
    id,
    key: `openapi-${id}`,
    objectKey,
    bytes: n,
    ms: 1,
    record: {
      objectKey,
      size: n,
      sha256: createHashLike(n),
      source: { crc64: String(n * 7919), verified: true },
      fileId: id,
      ekbKey: `openapi-${id}`,
      at: '2026-03-01T00:00:00.000Z',
    },
  };
}
const createHashLike = (n: number) => n.toString(16).padStart(64, '0');

async function setup(batches: number, perBatch: number, pageBytes?: number) {
  const store = memoryStore();
  const index = new MemoryTexts();
  await store.putJson(jobRecordKey(JOB), { v: 1, jobId: JOB });
  for (let b = 1; b <= batches; b++) {
    const results = Array.from({ length: perBatch }, (_, i) => copied(b * 1000 + i));
    await writeBatchIndex(
      { jobId: JOB, batchId: `b${String(b).padStart(5, '0')}`, attempt: 1, results },
      index,
    );
  }
  const deps: JobsApiDeps = {
    store,
    index,
    queue: recordingQueue(),
    manifests: memoryManifests({}),
    logger: silentLogger,
    bucket: 'b',
    keyTemplate: 'attachments/{fileId}/{fileName}',
    ...(pageBytes ? { indexPageBytes: pageBytes } : {}),
  } as JobsApiDeps;
  return createHandler(deps);
}

function indexEvent(
  jobId: string,
  query: Record<string, string> = {},
  headers: Record<string, string> = {},
): JobsApiEvent {
  const event = JSON.parse(
    readFileSync(new URL('../../fixtures/events/api-gateway-v2-copy-jobs-get.json', import.meta.url), 'utf8'),
  ) as JobsApiEvent;
  event.routeKey = 'GET /copy-jobs/{jobId}/index';
  event.rawPath = `/copy-jobs/${jobId}/index`;
  event.pathParameters = { jobId };
  event.queryStringParameters = query;
  event.headers = { ...event.headers, ...headers };
  return event;
}

const context = () => createLambdaContext({ functionName: 'jobs-api', timeoutMs: 29_000 });
const text = (r: { body: string; isBase64Encoded?: boolean }) =>
  r.isBase64Encoded ? gunzipSync(Buffer.from(r.body, 'base64')).toString() : r.body;

describe('GET /copy-jobs/{jobId}/index', () => {
  it('answers the whole index as JSON lines, one record per file', async () => {
    const handler = await setup(3, 4);
    const res = await handler(indexEvent(JOB), context());
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const lines = text(res)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(12);
    expect(lines[0]).toMatchObject({
      fileId: 'F1000',
      size: 1000,
      outcome: 'copied',
      source: { verified: true },
    });
    expect(res.headers['x-ekb-index-lines']).toBe('12');
    expect(res.headers).not.toHaveProperty('x-ekb-next-after');
  });

  it('answers CSV for ?format=csv and for Accept: text/csv', async () => {
    const handler = await setup(1, 2);
    for (const event of [indexEvent(JOB, { format: 'csv' }), indexEvent(JOB, {}, { accept: 'text/csv' })]) {
      const res = await handler(event, context());
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      const rows = text(res).split('\r\n');
      expect(rows[0]).toMatch(/^objectKey,versionId,size,sha256,/);
      expect(rows[1]).toMatch(/^"attachments\/F1000\/报销单, 1000.pdf",,1000,/);
      expect(rows).toHaveLength(4);
    }
  });

  it('pages a large index by whole batches, and the pages add up to the whole', async () => {
    const handler = await setup(7, 30, 8_000);
    const whole = text(await (await setup(7, 30))(indexEvent(JOB), context()));
    let after: string | undefined;
    const pages: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await handler(indexEvent(JOB, after ? { after } : {}), context());
      expect(res.statusCode).toBe(200);
      pages.push(text(res));
      after = res.headers['x-ekb-next-after'];
      if (after === undefined) break;
      expect(res.headers.link).toBe(`</copy-jobs/${JOB}/index?format=ndjson&after=${after}>; rel="next"`);
    }
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.join('')).toBe(whole);
  });

  it('answers 404 for an unknown job and 400 for a bad format or cursor', async () => {
    const handler = await setup(1, 1);
    expect((await handler(indexEvent('20260101T000000Z-none'), context())).statusCode).toBe(404);
    const badFormat = await handler(indexEvent(JOB, { format: 'xml' }), context());
    expect(badFormat.statusCode).toBe(400);
    expect(JSON.parse(badFormat.body).error.message).toContain('"format" must be ndjson or csv');
    expect((await handler(indexEvent(JOB, { after: '../x' }), context())).statusCode).toBe(400);
  });

  it('is served from the raw path too, and refuses other methods', async () => {
    const handler = await setup(1, 1);
    const event = indexEvent(JOB);
    event.routeKey = '$default';
    expect((await handler(event, context())).statusCode).toBe(200);
    (event.requestContext as unknown as { http: { method: string } }).http.method = 'DELETE';
    const refused = await handler(event, context());
    expect(refused.statusCode).toBe(405);
    expect(refused.headers.allow).toBe('GET');
  });
});
