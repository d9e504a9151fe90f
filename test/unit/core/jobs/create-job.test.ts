import { describe, expect, it } from 'vitest';
import { buildLanes } from '../../../../functions/core/attachments/lanes.js';
import { parseManifest } from '../../../../functions/core/attachments/manifest.js';
import { AppError, ValidationError } from '../../../../functions/core/errors.js';
import {
  createJob,
  createJobOnce,
  recordFailedJob,
  refsJobStarter,
} from '../../../../functions/core/jobs/create-job.js';
import type { BatchMessage } from '../../../../functions/core/model/batch.js';
import type { JobItem } from '../../../../functions/core/model/job.js';
import type { CopyRef } from '../../../../functions/core/model/refs.js';
import type { BatchQueue, ReportStore } from '../../../../functions/core/ports.js';

function memoryStore(): ReportStore & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    async putJson(key, value) {
      data.set(key, structuredClone(value));
    },
    async getJson<T>(key: string) {
      return data.has(key) ? (structuredClone(data.get(key)) as T) : undefined;
    },
    async list(prefix) {
      return [...data.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
  };
}

function recordingQueue(): BatchQueue & { messages: BatchMessage[]; calls: number } {
  const q = {
    messages: [] as BatchMessage[],
    calls: 0,
    async sendBatches(messages: BatchMessage[]) {
      q.calls++;
      q.messages.push(...structuredClone(messages));
    },
  };
  return q;
}

const NOW = new Date('2025-06-23T05:00:17.123Z');
const refs = (n: number, from = 0): CopyRef[] =>
  Array.from({ length: n }, (_, i) => ({ id: `f${from + i}`, key: `k${from + i}` }));
const items = (list: CopyRef[]): JobItem[] => list.map((ok, i) => ({ ok, line: i + 1 }));

describe('createJob', () => {
  it('queues one message per batch, then writes job.json with counts, batch ids and sizes', async () => {
    const store = memoryStore();
    const queue = recordingQueue();
    const input: JobItem[] = [
      ...items(refs(230)),
      { ok: { id: 'f0', key: 'k0' }, line: 231 },
      { bad: { line: 232, message: '"id" is missing' } },
    ];
    const record = await createJob(
      { jobId: 'job-1', source: { kind: 'api' }, items: input, keyTemplate: 'a/{fileId}/{fileName}' },
      { queue, store, now: () => NOW },
    );
    expect(queue.messages.map((m) => [m.batchId, m.refs.length])).toEqual([
      ['b00001', 100],
      ['b00002', 100],
      ['b00003', 30],
    ]);
    expect(queue.messages[0]).toMatchObject({ v: 1, jobId: 'job-1', keyTemplate: 'a/{fileId}/{fileName}' });
    expect(queue.messages.flatMap((m) => m.refs)).toEqual(refs(230));
    expect(record).toEqual({
      v: 1,
      jobId: 'job-1',
      source: { kind: 'api' },
      createdAt: NOW.toISOString(),
      keyTemplate: 'a/{fileId}/{fileName}',
      counts: { refs: 230, batches: 3, duplicates: 1, badLines: 1 },
      badLines: [{ line: 232, message: '"id" is missing' }],
      batchIds: ['b00001', 'b00002', 'b00003'],
      batchSizes: [100, 100, 30],
    });
    expect(store.data.get('jobs/job-1/job.json')).toEqual(record);
  });

  it('hands the queue at most 10 batches at a time', async () => {
    const queue = recordingQueue();
    await createJob(
      { jobId: 'j', source: { kind: 'api' }, items: items(refs(2_050)), keyTemplate: 't' },
      { queue, store: memoryStore() },
    );
    expect(queue.messages).toHaveLength(21);
    expect(queue.calls).toBe(3);
  });

  it('does nothing but return the record when job.json exists (a redelivered event)', async () => {
    const store = memoryStore();
    const queue = recordingQueue();
    const input = { jobId: 'j2', source: { kind: 'api' as const }, items: items(refs(5)), keyTemplate: 't' };
    const first = await createJobOnce(input, { queue, store, now: () => NOW });
    const again = await createJobOnce({ ...input, items: items(refs(7)) }, { queue, store });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.record).toEqual(first.record);
    expect(queue.messages).toHaveLength(1);
  });

  it('uses the report prefix for job.json', async () => {
    const store = memoryStore();
    await createJob(
      { jobId: 'j3', source: { kind: 'api' }, items: items(refs(1)), keyTemplate: 't' },
      { queue: recordingQueue(), store, reportPrefix: 'reports/x' },
    );
    expect([...store.data.keys()]).toEqual(['reports/x/j3/job.json']);
  });

  it('queues what came before unusable input, including the partial batch, and records the error', async () => {
    async function* broken(): AsyncGenerator<JobItem> {
      yield* items(refs(150));
      throw new ValidationError('JSON manifest: expected "," or "]" after item 150, found "x"');
    }
    const store = memoryStore();
    const queue = recordingQueue();
    const record = await createJob(
      { jobId: 'j4', source: { kind: 'api' }, items: broken(), keyTemplate: 't' },
      { queue, store },
    );
    expect(queue.messages.map((m) => m.refs.length)).toEqual([100, 50]);
    expect(record.counts).toEqual({ refs: 150, batches: 2, duplicates: 0, badLines: 0 });
    expect(record.error).toEqual({
      code: 'invalid_input',
      message: 'JSON manifest: expected "," or "]" after item 150, found "x"',
    });
  });

  it('records a whole-manifest error from a real parser (CSV header without "key")', async () => {
    async function* csv() {
      yield 'id,name\nf1,a\n';
    }
    const store = memoryStore();
    const record = await createJob(
      {
        jobId: 'j5',
        source: { kind: 'api' },
        items: parseManifest(csv(), { name: 'm.csv' }),
        keyTemplate: 't',
      },
      { queue: recordingQueue(), store },
    );
    expect(record.counts.refs).toBe(0);
    expect(record.error?.message).toContain('lacks the column "key"');
  });

  it('throws and writes no job.json when queuing fails (the retry then queues again)', async () => {
    const store = memoryStore();
    const queue: BatchQueue = {
      async sendBatches() {
        throw new AppError('queue_send_failed', '1 of 1 batch message(s) could not be queued', {
          retryable: true,
        });
      },
    };
    const err = await createJob(
      { jobId: 'j6', source: { kind: 'api' }, items: items(refs(3)), keyTemplate: 't' },
      { queue, store },
    ).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('queue_send_failed');
    expect(store.data.size).toBe(0);
  });

  it('throws and writes no job.json when reading the input fails for another reason', async () => {
    async function* flaky(): AsyncGenerator<JobItem> {
      yield* items(refs(3));
      throw new Error('socket hang up');
    }
    const store = memoryStore();
    await expect(
      createJob(
        { jobId: 'j7', source: { kind: 'api' }, items: flaky(), keyTemplate: 't' },
        { queue: recordingQueue(), store },
      ),
    ).rejects.toThrow('socket hang up');
    expect(store.data.size).toBe(0);
  });

  it('refuses a path-like job id', async () => {
    await expect(
      createJob(
        { jobId: '../x', source: { kind: 'api' }, items: [], keyTemplate: 't' },
        { queue: recordingQueue(), store: memoryStore() },
      ),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('writes a job with no refs when the input is empty', async () => {
    const queue = recordingQueue();
    const record = await createJob(
      { jobId: 'j8', source: { kind: 'api' }, items: [], keyTemplate: 't' },
      { queue, store: memoryStore() },
    );
    expect(record.counts).toEqual({ refs: 0, batches: 0, duplicates: 0, badLines: 0 });
    expect(queue.calls).toBe(0);
  });
});

describe('recordFailedJob', () => {
  it('writes job.json with the error code and message, once', async () => {
    const store = memoryStore();
    const source = { kind: 'manifest' as const, bucket: 'b', key: 'manifests/x.csv' };
    const record = await recordFailedJob(
      { jobId: 'jf', source, keyTemplate: 't' },
      new AppError('manifest_not_found', 'no such manifest s3://b/manifests/x.csv', { status: 400 }),
      { store, now: () => NOW },
    );
    expect(record.error).toEqual({
      code: 'manifest_not_found',
      message: 'no such manifest s3://b/manifests/x.csv',
    });
    expect(record.counts.refs).toBe(0);
    const again = await recordFailedJob({ jobId: 'jf', source, keyTemplate: 't' }, new Error('other'), {
      store,
    });
    expect(again).toEqual(record);
  });

  it('does not put the text of an unknown error in the record', async () => {
    const record = await recordFailedJob(
      { jobId: 'jg', source: { kind: 'api' }, keyTemplate: 't' },
      new Error('https://x.example/?Signature=secret'),
      { store: memoryStore() },
    );
    expect(record.error).toEqual({ code: 'input_unreadable', message: 'the job input could not be read' });
  });
});

describe('refsJobStarter', () => {
  it('starts a job from plain refs and returns its record', async () => {
    const queue = recordingQueue();
    const start = refsJobStarter({ queue, store: memoryStore() });
    const record = await start({
      jobId: 'sync-1',
      source: { kind: 'schedule', windowStart: 'a', windowEnd: 'b' },
      items: refs(3),
      keyTemplate: 'forms/{flowCode}',
    });
    expect(record.jobId).toBe('sync-1');
    expect(record.counts.refs).toBe(3);
    expect(queue.messages[0]?.refs).toEqual(refs(3));
  });
});

describe('createJob with rejectInvalidManifest', () => {
  it('throws the ValidationError and writes no job.json', async () => {
    async function* broken(): AsyncGenerator<JobItem> {
      yield { ok: { id: 'f1', key: 'k1' }, line: 1 };
      throw new ValidationError('CSV manifest: the header row lacks the column "id"');
    }
    const store = memoryStore();
    await expect(
      createJob(
        {
          jobId: 'jr',
          source: { kind: 'cli' },
          items: broken(),
          keyTemplate: 't',
          rejectInvalidManifest: true,
        },
        { queue: recordingQueue(), store },
      ),
    ).rejects.toThrow('lacks the column "id"');
    expect(store.data.size).toBe(0);
  });
});

describe('createJob with the bucket lanes', () => {
  const lanes = buildLanes({
    templates: ['attachments/{fileId}/{fileName}', 'forms/{formType}/{flowCode}/{fileId}-{fileName}'],
    reportPrefix: 'jobs/',
  }).lanes;

  it('refuses targets in a system lane or outside the archive lanes as bad lines with their code; the rest run', async () => {
    const store = memoryStore();
    const queue = recordingQueue();
    const seen: string[] = [];
    const input: JobItem[] = [
      { ok: { id: 'a', key: 'ka' }, line: 1 },
      { ok: { id: 'b', key: 'kb', targetKey: 'jobs/other-job/batches/b00003.json' }, line: 2 },
      { ok: { id: 'c', key: 'kc', targetKey: 'sync/state.json' }, line: 3 },
      { ok: { id: 'd', key: 'kd', targetKey: 'manifests/x.jsonl' }, line: 4 },
      { ok: { id: 'e', key: 'ke', targetKey: 'elsewhere/e.pdf' }, line: 5 },
      { ok: { id: 'f', key: 'kf', targetKey: 'attachments/custom/f.pdf' }, line: 6 },
    ];
    const record = await createJob(
      {
        jobId: 'job-l',
        source: { kind: 'api' },
        items: input,
        keyTemplate: 'attachments/{fileId}/{fileName}',
        onBadItem: (bad) => seen.push(`${bad.line}:${bad.code}`),
      },
      { queue, store, now: () => NOW, lanes },
    );
    expect(record.counts).toMatchObject({ refs: 2, badLines: 4 });
    expect(record.badLines).toEqual([
      expect.objectContaining({ line: 2, code: 'target_in_system_lane' }),
      expect.objectContaining({ line: 3, code: 'target_in_system_lane' }),
      expect.objectContaining({ line: 4, code: 'target_in_system_lane' }),
      expect.objectContaining({ line: 5, code: 'target_outside_archive_lanes' }),
    ]);
    expect(record.badLines[0]?.message).toMatch(
      /"targetKey" is object key "jobs\/other-job.*system lane "jobs\/"/,
    );
    expect(seen).toEqual([
      '2:target_in_system_lane',
      '3:target_in_system_lane',
      '4:target_in_system_lane',
      '5:target_outside_archive_lanes',
    ]);
    expect(queue.messages.flatMap((m) => m.refs.map((r) => r.id))).toEqual(['a', 'f']);
  });

  it('gives each object key to the first file; a second file on it is refused naming the holder, the same file twice is a duplicate', async () => {
    const store = memoryStore();
    const queue = recordingQueue();
    const input: JobItem[] = [
      { ok: { id: 'a', key: 'k', fileName: '发票.pdf', targetKey: 'attachments/x/发票.pdf' }, line: 1 },
      // Same file, other vars, same key: nothing new to do.
      { ok: { id: 'a', key: 'k', targetKey: 'attachments/x/发票.pdf', vars: { flowCode: 'B2' } }, line: 2 },
      // Another file on the same key.
      { ok: { id: 'b', key: 'k2', targetKey: 'attachments/x/发票.pdf' }, line: 3 },
      // Template without {fileId}: two files of one name collide.
      { ok: { id: 'c', key: 'openapi-c', fileName: 'scan.pdf', vars: { flowCode: 'B1' } }, line: 4 },
      { ok: { id: 'd', key: 'openapi-d', fileName: 'scan.pdf', vars: { flowCode: 'B1' } }, line: 5 },
    ];
    const record = await createJob(
      { jobId: 'job-c', source: { kind: 'api' }, items: input, keyTemplate: 'forms/{flowCode}/{fileName}' },
      { queue, store, now: () => NOW, lanes },
    );
    expect(record.counts).toMatchObject({ refs: 2, duplicates: 1, badLines: 2 });
    expect(record.badLines.map((b) => [b.line, b.code])).toEqual([
      [3, 'target_key_conflict'],
      [5, 'target_key_conflict'],
    ]);
    expect(record.badLines[0]?.message).toContain('already taken in this job by line 1 (id "a")');
    expect(record.badLines[1]?.message).toContain(
      '"forms/B1/scan.pdf" is already taken in this job by line 4 (id "c")',
    );
  });

  it('refuses a template whose root is a system lane or outside the lanes before queuing anything', async () => {
    for (const keyTemplate of ['jobs/{jobId}/job.json', 'other/{fileId}', 'attachments/{fileName']) {
      const store = memoryStore();
      const queue = recordingQueue();
      await expect(
        createJob(
          { jobId: 'job-t', source: { kind: 'api' }, items: items(refs(3)), keyTemplate },
          { queue, store, lanes },
        ),
      ).rejects.toBeInstanceOf(ValidationError);
      expect(queue.messages).toEqual([]);
      expect(store.data.size).toBe(0);
    }
  });

  it('carries onConflict "overwrite" into every message and the job record', async () => {
    const store = memoryStore();
    const queue = recordingQueue();
    const record = await createJob(
      {
        jobId: 'job-o',
        source: { kind: 'api' },
        items: items(refs(150)),
        keyTemplate: 'attachments/{fileId}/{fileName}',
        onConflict: 'overwrite',
      },
      { queue, store, lanes },
    );
    expect(record.onConflict).toBe('overwrite');
    expect(queue.messages.map((m) => m.onConflict)).toEqual(['overwrite', 'overwrite']);
  });
});

describe('createJob with resume (the CLI continuing a job by its id)', () => {
  const template = 'a/{fileId}';

  it('queues the same batches again when job.json exists, and keeps the record as it was', async () => {
    const store = memoryStore();
    const first = recordingQueue();
    const created = await createJob(
      { jobId: 'k1', source: { kind: 'cli' }, items: items(refs(250)), keyTemplate: template },
      { queue: first, store, now: () => NOW },
    );
    const again = recordingQueue();
    const { record, created: fresh } = await createJobOnce(
      { jobId: 'k1', source: { kind: 'cli' }, items: items(refs(250)), keyTemplate: template, resume: true },
      { queue: again, store, now: () => new Date(NOW.getTime() + 60_000) },
    );
    expect(fresh).toBe(false);
    expect(record).toEqual(created);
    expect(again.messages).toEqual(first.messages);
    expect(again.messages.map((m) => m.batchId)).toEqual(['b00001', 'b00002', 'b00003']);
  });

  it('stops before queuing a batch the record does not have, and names the difference', async () => {
    const store = memoryStore();
    await createJob(
      { jobId: 'k2', source: { kind: 'cli' }, items: items(refs(200)), keyTemplate: template },
      { queue: recordingQueue(), store },
    );
    const bigger = recordingQueue();
    await expect(
      createJob(
        {
          jobId: 'k2',
          source: { kind: 'cli' },
          items: items(refs(250)),
          keyTemplate: template,
          resume: true,
        },
        { queue: bigger, store },
      ),
    ).rejects.toThrow(/job k2 was created from other input \(more than its 200 refs in 2 batches\)/);
    // Batches are handed over ten at a time: the difference shows before any of them is queued.
    expect(bigger.messages).toEqual([]);

    const other = recordingQueue();
    await expect(
      createJob(
        {
          jobId: 'k2',
          source: { kind: 'cli' },
          items: items(refs(120)),
          keyTemplate: template,
          resume: true,
        },
        { queue: other, store },
      ),
    ).rejects.toThrow(/batch b00002 held 100 refs, this input gives it 20/);
    expect(other.messages).toEqual([]);
  });

  it('without resume, still does nothing when job.json exists', async () => {
    const store = memoryStore();
    await createJob(
      { jobId: 'k3', source: { kind: 'cli' }, items: items(refs(10)), keyTemplate: template },
      { queue: recordingQueue(), store },
    );
    const again = recordingQueue();
    await createJob(
      { jobId: 'k3', source: { kind: 'cli' }, items: items(refs(10)), keyTemplate: template },
      { queue: again, store },
    );
    expect(again.messages).toEqual([]);
  });
});
