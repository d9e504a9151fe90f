/**
 * Fan-out against a real S3 (s3rver on 127.0.0.1:0): manifests in each format are uploaded, the handler gets the S3
 * event fixture pointed at them, reads them over the socket as streams and writes job.json into s3rver. No SQS is
 * available here, so the queue is a recorder of the BatchQueue port (the SQS adapter has its own tests).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../functions/aws/s3-client.js';
import { createS3ManifestSource } from '../../../functions/aws/s3-manifest-source.js';
import { createS3ReportStore } from '../../../functions/aws/s3-report-store.js';
import { buildLanes } from '../../../functions/core/attachments/lanes.js';
import { jobRecordKey } from '../../../functions/core/jobs/keys.js';
import type { JobRecord } from '../../../functions/core/model/job.js';
import { createHandler, type FanOutHandlerDeps } from '../../../functions/fan-out/handler.js';
import type { S3FanOutResult } from '../../../functions/fan-out/s3-event.js';
import { createLogger } from '../../../functions/logger.js';
import { encodeEventKey, S3RVER_CREDENTIALS, startEmbeddedS3 } from '../../../infra/local/embedded-s3.js';
import { createLambdaContext } from '../../../infra/local/lambda-context.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';
import { recordingQueue } from '../../unit/core/jobs/job-fakes.js';

const manifestFixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/manifests/${name}`, import.meta.url));
const eventFixture = (): S3Event =>
  JSON.parse(readFileSync(new URL('../../fixtures/events/s3-object-created.json', import.meta.url), 'utf8'));

let s3: TestS3;
let sequence = 0;
const etags = new Map<string, string>();

async function upload(key: string, body: Buffer | string): Promise<void> {
  const out = await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
  etags.set(key, (out.ETag ?? '').replace(/"/g, ''));
}

/** The fixture event, pointed at one object of this s3rver; each call is a new upload unless `sequencer` is reused. */
function eventFor(key: string, sequencer = `00665A0000${String(++sequence).padStart(8, '0')}`): S3Event {
  const event = eventFixture();
  const record = event.Records[0]!;
  record.s3.bucket.name = s3.bucket;
  record.s3.bucket.arn = `arn:aws:s3:::${s3.bucket}`;
  record.s3.object.key = encodeEventKey(key);
  record.s3.object.eTag = etags.get(key) ?? '';
  record.s3.object.sequencer = sequencer;
  return event;
}

function fanOut() {
  const queue = recordingQueue();
  const deps: FanOutHandlerDeps = {
    queue,
    store: createS3ReportStore({ client: s3.client, bucket: s3.bucket }),
    manifests: createS3ManifestSource({ client: s3.client }),
    logger: createLogger({ write: () => {} }),
    bucket: s3.bucket,
    keyTemplate: 'attachments/{fileId}/{fileName}',
    // refs.jsonl sends one file to targetKey archive/2025/…: a deployment with that archive lane.
    lanes: buildLanes({
      templates: ['attachments/{fileId}/{fileName}'],
      extraArchive: ['archive/'],
      reportPrefix: 'jobs/',
    }).lanes,
  };
  return { queue, handler: createHandler(deps) };
}

const context = () => createLambdaContext({ functionName: 'fan-out', timeoutMs: 900_000 });

/** job.json as stored in s3rver, read back with a plain GetObject. */
async function storedJob(jobId: string): Promise<JobRecord> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: jobRecordKey(jobId) }));
  expect(out.ContentType).toBe('application/json');
  return JSON.parse(await out.Body!.transformToString('utf-8')) as JobRecord;
}

beforeAll(async () => {
  s3 = await startS3rver();
  await upload('manifests/2025年6月 报销附件.csv', manifestFixture('refs.csv'));
  await upload('manifests/june refs+extra.jsonl', manifestFixture('refs.jsonl'));
  await upload('manifests/六月 array.json', manifestFixture('refs.json'));
  await upload('manifests/no id column.csv', 'fileId,key\n1,k\n');
});

afterAll(async () => {
  await s3?.close();
});

describe('fan-out over s3rver', () => {
  it.each([
    {
      key: 'manifests/2025年6月 报销附件.csv',
      ids: ['61sbwX3DEAgk00', '136634573449', 'c4', 'c9'],
      duplicates: 1,
      bad: [6, 7],
    },
    {
      key: 'manifests/june refs+extra.jsonl',
      ids: ['61sbwX3DEAgk00', '136634573449', 'a8'],
      duplicates: 1,
      bad: [4, 5, 7],
    },
    {
      key: 'manifests/六月 array.json',
      ids: ['61sbwX3DEAgk00', 'j2', '136634573449'],
      duplicates: 1,
      bad: [3, 4],
    },
  ])(
    'queues the good refs of $key and records counts and bad line numbers in job.json',
    async ({ key, ids, duplicates, bad }) => {
      const { handler, queue } = fanOut();

      const result = (await handler(eventFor(key), context())) as S3FanOutResult;

      const job = result.jobs[0]!;
      expect(job).toMatchObject({ key, created: true, refs: ids.length, badLines: bad.length });
      expect(queue.messages.flatMap((m) => m.refs.map((r) => r.id))).toEqual(ids);
      const stored = await storedJob(job.jobId);
      expect(stored.source).toEqual({ kind: 'manifest', bucket: s3.bucket, key });
      expect(stored.counts).toEqual({ refs: ids.length, batches: 1, duplicates, badLines: bad.length });
      expect(stored.badLines.map((b) => b.line)).toEqual(bad);
      for (const b of stored.badLines) expect(b.message.length).toBeGreaterThan(5);
      expect(stored.batchIds).toEqual(['b00001']);
    },
  );

  it('keeps CJK names, DP: keys and quoted CSV values exactly as the manifest has them', async () => {
    const { handler, queue } = fanOut();
    await handler(eventFor('manifests/2025年6月 报销附件.csv'), context());
    const refs = queue.messages.flatMap((m) => m.refs);
    expect(refs[1]).toEqual({
      id: '136634573449',
      key: 'DP:{"fileId":"136634437985","fileName":"128163bbba83.jpg","fileSize":2985928,"fileType":"jpg","spaceId":"7215288789"}',
      fileName: '发票.jpg',
    });
    expect(refs[2]?.fileName).toBe('报销, "六月"\n第二行.pdf');
  });

  it('does nothing when the same event is delivered again', async () => {
    const { handler, queue } = fanOut();
    const event = eventFor('manifests/june refs+extra.jsonl');
    const first = (await handler(event, context())) as S3FanOutResult;
    const before = await storedJob(first.jobs[0]!.jobId);

    const second = (await handler(structuredClone(event), context())) as S3FanOutResult;

    expect(second.jobs[0]).toMatchObject({ jobId: first.jobs[0]!.jobId, created: false });
    expect(queue.calls).toBe(1);
    expect(await storedJob(first.jobs[0]!.jobId)).toEqual(before);
  });

  it('records a manifest without an "id" column as a job with the reason, and queues nothing', async () => {
    const { handler, queue } = fanOut();
    const result = (await handler(eventFor('manifests/no id column.csv'), context())) as S3FanOutResult;
    const stored = await storedJob(result.jobs[0]!.jobId);
    expect(stored.error?.message).toMatch(/"id"/);
    expect(stored.counts.refs).toBe(0);
    expect(queue.calls).toBe(0);
  });

  it('streams a large manifest into batches of at most 100, each ref once', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 12_345; i++) {
      lines.push(JSON.stringify({ id: `f${i}`, key: `openapi-${i}-附件 ${i}.pdf` }));
      if (i % 1000 === 0) lines.push('{"id": broken');
    }
    await upload('manifests/large.jsonl', `${lines.join('\n')}\n`);
    const { handler, queue } = fanOut();

    const result = (await handler(eventFor('manifests/large.jsonl'), context())) as S3FanOutResult;

    expect(result.jobs[0]).toMatchObject({ refs: 12_345, batches: 124, badLines: 13 });
    expect(queue.messages).toHaveLength(124);
    expect(Math.max(...queue.messages.map((m) => m.refs.length))).toBe(100);
    const ids = queue.messages.flatMap((m) => m.refs.map((r) => r.id));
    expect(new Set(ids).size).toBe(12_345);
    const stored = await storedJob(result.jobs[0]!.jobId);
    expect(stored.batchIds.at(-1)).toBe('b00124');
    expect(stored.badLines.map((b) => b.line).slice(0, 3)).toEqual([2, 1003, 2004]);
  });
});

describe('fan-out fed by a real s3rver notification', () => {
  it('turns the event s3rver emits for an upload into a job (key encoding round trip)', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ekb-fanout-'));
    const events: S3Event[] = [];
    const embedded = await startEmbeddedS3({
      directory,
      bucket: 'notified',
      onObjectCreated: (e) => events.push(e),
    });
    const client = createS3Client({
      endpoint: embedded.endpoint,
      region: 'us-east-1',
      credentials: { ...S3RVER_CREDENTIALS },
      env: {},
    });
    try {
      const key = 'manifests/报销 100%+ 六月.jsonl';
      await client.send(
        new PutObjectCommand({ Bucket: 'notified', Key: key, Body: '{"id":"1","key":"k1"}\n{"id":"2"}\n' }),
      );
      await expect.poll(() => events.length).toBe(1);
      const queue = recordingQueue();
      const handler = createHandler({
        queue,
        store: createS3ReportStore({ client, bucket: 'notified' }),
        manifests: createS3ManifestSource({ client }),
        logger: createLogger({ write: () => {} }),
        bucket: 'notified',
        keyTemplate: 'attachments/{fileId}/{fileName}',
      });

      const result = (await handler(events[0]!, context())) as S3FanOutResult;

      expect(result.jobs[0]).toMatchObject({ key, refs: 1, badLines: 1, created: true });
      expect(queue.messages[0]?.refs).toEqual([{ id: '1', key: 'k1' }]);
    } finally {
      client.destroy();
      await embedded.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
