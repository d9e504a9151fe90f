import { readFileSync } from 'node:fs';
import type { S3Event, ScheduledEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { AbortedError, AppError } from '../../../functions/core/errors.js';
import { jobRecordKey, manifestJobId } from '../../../functions/core/jobs/keys.js';
import type { BatchMessage } from '../../../functions/core/model/batch.js';
import type { JobRecord } from '../../../functions/core/model/job.js';
import {
  createHandler,
  type FanOutHandlerDeps,
  fanOutEventKind,
} from '../../../functions/fan-out/handler.js';
import { decodeS3EventKey } from '../../../functions/fan-out/s3-event.js';
import { createLogger } from '../../../functions/logger.js';
import { createLambdaContext } from '../../../infra/local/lambda-context.js';
import { memoryManifests, memoryStore, recordingQueue } from '../core/jobs/job-fakes.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/events/${name}`, import.meta.url), 'utf8'));
const s3Event = (): S3Event => fixture('s3-object-created.json');
const scheduled = (): ScheduledEvent => fixture('eventbridge-scheduled.json');

const BUCKET = 'ekb-archive-test';
const MANIFEST_KEY = 'manifests/2025年6月 报销附件.csv';
const CSV =
  'id,key,fileName\n1,openapi-1-a.pdf,a.pdf\n2,,b.pdf\n3,openapi-3-c.pdf,\n1,openapi-1-a.pdf,a.pdf\n';

function setup(files: Record<string, string> = { [`${BUCKET}/${MANIFEST_KEY}`]: CSV }) {
  const store = memoryStore();
  const queue = recordingQueue();
  const manifests = memoryManifests(files);
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) });
  const deps: FanOutHandlerDeps = {
    store,
    queue,
    manifests,
    logger,
    bucket: BUCKET,
    keyTemplate: 'attachments/{fileId}/{fileName}',
    now: () => new Date('2025-06-23T05:12:45.000Z'),
  };
  return { store, queue, manifests, lines, deps, handler: createHandler(deps) };
}

const context = (timeoutMs = 900_000) => createLambdaContext({ functionName: 'fan-out', timeoutMs });

describe('decodeS3EventKey', () => {
  it('turns form encoding back into the key: + is a space, %XX are UTF-8 bytes', () => {
    expect(decodeS3EventKey('manifests/2025%E5%B9%B46%E6%9C%88+%E6%8A%A5%E9%94%80.csv')).toBe(
      'manifests/2025年6月 报销.csv',
    );
    expect(decodeS3EventKey('manifests/a%2Bb.csv')).toBe('manifests/a+b.csv');
    expect(decodeS3EventKey('manifests/%E5%9')).toBeUndefined();
  });
});

describe('fanOutEventKind', () => {
  it('tells S3 notifications, schedules and anything else apart', () => {
    expect(fanOutEventKind(s3Event())).toBe('s3');
    expect(fanOutEventKind(scheduled())).toBe('schedule');
    expect(fanOutEventKind({ Records: [{ eventSource: 'aws:sqs' }] })).toBe('unknown');
    expect(fanOutEventKind(null)).toBe('unknown');
  });
});

describe('fan-out handler, S3 manifest uploads', () => {
  it('reads the decoded key, queues the deduplicated refs and writes job.json with counts and bad lines', async () => {
    const { handler, manifests, queue, store } = setup();
    const event = s3Event();

    const result = await handler(event, context());

    const record = event.Records[0]!;
    const jobId = manifestJobId({
      bucket: BUCKET,
      key: MANIFEST_KEY,
      eTag: record.s3.object.eTag,
      sequencer: record.s3.object.sequencer,
      eventTime: new Date(record.eventTime),
    });
    expect(manifests.opened).toEqual([`${BUCKET}/${MANIFEST_KEY}`]);
    expect(result).toEqual({
      kind: 's3',
      skipped: 0,
      jobs: [{ jobId, bucket: BUCKET, key: MANIFEST_KEY, created: true, refs: 2, batches: 1, badLines: 1 }],
    });
    expect(jobId.startsWith('20250623T051244Z-m')).toBe(true);
    expect(queue.messages).toEqual<BatchMessage[]>([
      {
        v: 1,
        jobId,
        batchId: 'b00001',
        refs: [
          { id: '1', key: 'openapi-1-a.pdf', fileName: 'a.pdf' },
          { id: '3', key: 'openapi-3-c.pdf' },
        ],
        keyTemplate: 'attachments/{fileId}/{fileName}',
      },
    ]);
    const job = store.data.get(jobRecordKey(jobId)) as JobRecord;
    expect(job.source).toEqual({ kind: 'manifest', bucket: BUCKET, key: MANIFEST_KEY });
    expect(job.counts).toEqual({ refs: 2, batches: 1, duplicates: 1, badLines: 1 });
    expect(job.badLines).toEqual([{ line: 3, message: expect.stringContaining('"key"') }]);
    expect(job.createdAt).toBe('2025-06-23T05:12:45.000Z');
  });

  it('queues nothing again when the same event is delivered twice', async () => {
    const { handler, queue, manifests } = setup();
    await handler(s3Event(), context());
    const second = (await handler(s3Event(), context())) as { jobs: Array<{ created: boolean }> };
    expect(second.jobs[0]?.created).toBe(false);
    expect(queue.messages).toHaveLength(1);
    expect(manifests.opened).toHaveLength(1);
  });

  it('starts a new job when the manifest is uploaded again (a new write has a new sequencer)', async () => {
    const { handler, queue } = setup();
    await handler(s3Event(), context());
    const again = s3Event();
    again.Records[0]!.s3.object.sequencer = '0066591D00AA000000';
    await handler(again, context());
    expect(new Set(queue.messages.map((m) => m.jobId)).size).toBe(2);
  });

  it('skips records that are not manifest uploads in the archive bucket, and says why', async () => {
    const { handler, manifests, lines } = setup();
    const base = s3Event().Records[0]!;
    const variant = (change: (r: typeof base) => void) => {
      const r = structuredClone(base);
      change(r);
      return r;
    };
    const event: S3Event = {
      Records: [
        variant((r) => {
          r.s3.bucket.name = 'someone-else';
        }),
        variant((r) => {
          r.s3.object.key = 'attachments/1/a.pdf';
        }),
        variant((r) => {
          r.s3.object.key = 'manifests/june/';
        }),
        variant((r) => {
          r.s3.object.key = 'manifests/%E5%9';
        }),
        variant((r) => {
          r.eventName = 'ObjectRemoved:Delete';
        }),
      ],
    };
    const result = await handler(event, context());
    expect(result).toEqual({ kind: 's3', jobs: [], skipped: 5 });
    expect(manifests.opened).toEqual([]);
    expect(lines.filter((l) => l.message === 'event record skipped').map((l) => l.reason)).toEqual([
      'bucket someone-else is not the archive bucket',
      'key is not under manifests/',
      'key is a folder placeholder',
      'the event key is not valid URL encoding',
      'event ObjectRemoved:Delete is not an upload',
    ]);
  });

  it('records an unusable manifest as a job with the reason instead of failing the event', async () => {
    const { handler, store, queue } = setup({ [`${BUCKET}/${MANIFEST_KEY}`]: 'fileId,name\n1,a\n' });
    const result = (await handler(s3Event(), context())) as {
      jobs: Array<{ jobId: string; error?: string }>;
    };
    expect(result.jobs[0]?.error).toMatch(/"id"|"key"/);
    expect((store.data.get(jobRecordKey(result.jobs[0]!.jobId)) as JobRecord).error).toBeDefined();
    expect(queue.calls).toBe(0);
  });

  it('finishes the other manifests, then throws a retryable error so the event is retried', async () => {
    const files = { [`${BUCKET}/manifests/good.jsonl`]: '{"id":"1","key":"k"}\n' };
    const { deps, queue, store } = setup(files);
    let failNext = true;
    const handler = createHandler({
      ...deps,
      queue: {
        async sendBatches(messages, signal) {
          if (failNext && messages[0]?.refs[0]?.id === '9') {
            failNext = false;
            throw new AppError('queue_send_failed', 'throttled', { retryable: true, status: 503 });
          }
          return queue.sendBatches(messages, signal);
        },
      },
      manifests: memoryManifests({
        ...files,
        [`${BUCKET}/manifests/flaky.jsonl`]: '{"id":"9","key":"k9"}\n',
      }),
    });
    const base = s3Event().Records[0]!;
    const event: S3Event = {
      Records: [
        {
          ...structuredClone(base),
          s3: { ...base.s3, object: { ...base.s3.object, key: 'manifests/flaky.jsonl' } },
        },
        {
          ...structuredClone(base),
          s3: { ...base.s3, object: { ...base.s3.object, key: 'manifests/good.jsonl' } },
        },
      ],
    };

    const first = handler(event, context());
    await expect(first).rejects.toMatchObject({ code: 'fan_out_failed', retryable: true });
    expect(queue.messages.map((m) => m.refs[0]?.id)).toEqual(['1']);
    expect([...store.data.keys()].filter((k) => k.endsWith('/job.json'))).toHaveLength(1);

    // The retry (what Lambda does with the same event) queues only what is missing.
    await handler(event, context());
    expect(queue.messages.map((m) => m.refs[0]?.id).sort()).toEqual(['1', '9']);
  });

  it('stops queuing at the deadline margin and writes no job record, so the retry redoes the job', async () => {
    const { deps, store } = setup();
    const handler = createHandler({
      ...deps,
      deadlineMarginMs: 20_000,
      queue: {
        async sendBatches(_messages, signal) {
          if (signal?.aborted) throw new AbortedError('deadline');
        },
      },
    });
    await expect(handler(s3Event(), context(10_000))).rejects.toMatchObject({ code: 'fan_out_failed' });
    expect(store.data.size).toBe(0);
  });
});

describe('fan-out handler, other events', () => {
  it('hands a scheduled event to the sync when one is wired, and ignores it otherwise', async () => {
    const { deps, handler } = setup();
    expect(await handler(scheduled(), context())).toEqual({ kind: 'schedule', result: 'not_configured' });

    const seen: ScheduledEvent[] = [];
    const withSync = createHandler({
      ...deps,
      sync: async (event) => {
        seen.push(event);
        return { status: 'done' };
      },
    });
    expect(await withSync(scheduled(), context())).toEqual({ kind: 'schedule', result: { status: 'done' } });
    expect(seen).toHaveLength(1);
  });

  it('refuses an event it does not understand', async () => {
    const { handler } = setup();
    await expect(handler({ hello: 'world' } as unknown as S3Event, context())).rejects.toMatchObject({
      code: 'unrecognised_event',
    });
  });

  it('fails the invocation (so it is retried) when its dependencies cannot be built', async () => {
    const handler = createHandler(() => {
      throw new AppError('misconfigured', 'EKB_QUEUE_URL must be set');
    });
    await expect(handler(s3Event(), context())).rejects.toMatchObject({ code: 'misconfigured' });
  });
});
