import { describe, expect, it } from 'vitest';
import { AppError, ValidationError } from '../../../../functions/core/errors.js';
import { jobRecordKey } from '../../../../functions/core/jobs/keys.js';
import { runManifestJob } from '../../../../functions/core/jobs/manifest-job.js';
import type { JobRecord } from '../../../../functions/core/model/job.js';
import type { ManifestSource } from '../../../../functions/core/ports.js';
import { memoryManifests, memoryStore, recordingQueue } from './job-fakes.js';

const BUCKET = 'archive';
const TEMPLATE = 'attachments/{fileId}/{fileName}';
const NOW = () => new Date('2025-06-23T05:00:00.000Z');
const input = (key: string, jobId = '20250623T050000Z-m1') => ({
  jobId,
  bucket: BUCKET,
  key,
  keyTemplate: TEMPLATE,
});

function setup(files: Record<string, string>) {
  const store = memoryStore();
  const queue = recordingQueue();
  const manifests = memoryManifests(files);
  return { store, queue, manifests, deps: { store, queue, manifests, now: NOW } };
}

describe('runManifestJob', () => {
  it('parses the manifest by its extension, queues its refs and records the job with its source', async () => {
    const { deps, queue, store } = setup({
      'archive/manifests/a.csv': 'id,key\n1,k1\n2,\n3,k3\n',
    });
    const { record, created } = await runManifestJob(input('manifests/a.csv'), deps);
    expect(created).toBe(true);
    expect(record.source).toEqual({ kind: 'manifest', bucket: BUCKET, key: 'manifests/a.csv' });
    expect(record.counts).toEqual({ refs: 2, batches: 1, duplicates: 0, badLines: 1 });
    expect(record.badLines).toEqual([{ line: 3, message: expect.stringContaining('"key"') }]);
    expect(queue.messages.flatMap((m) => m.refs)).toEqual([
      { id: '1', key: 'k1' },
      { id: '3', key: 'k3' },
    ]);
    expect(store.data.get(jobRecordKey(record.jobId))).toEqual(record);
  });

  it('does not open the manifest again when the job already exists (redelivered event)', async () => {
    const { deps, queue, manifests } = setup({ 'archive/manifests/a.jsonl': '{"id":"1","key":"k1"}\n' });
    await runManifestJob(input('manifests/a.jsonl'), deps);
    const again = await runManifestJob(input('manifests/a.jsonl'), deps);
    expect(again.created).toBe(false);
    expect(manifests.opened).toHaveLength(1);
    expect(queue.messages).toHaveLength(1);
  });

  it('records a missing manifest as a job with the reason and nothing queued', async () => {
    const { deps, queue } = setup({});
    const { record } = await runManifestJob(input('manifests/gone.csv'), deps);
    expect(record.counts.refs).toBe(0);
    expect(record.error).toMatchObject({ code: 'manifest_not_found' });
    expect(queue.calls).toBe(0);
  });

  it('records a CSV whose header lacks "key" as a job with the reason', async () => {
    const { deps, queue } = setup({ 'archive/manifests/h.csv': 'id,name\n1,x\n' });
    const { record } = await runManifestJob(input('manifests/h.csv'), deps);
    expect(record.error?.message).toContain('"key"');
    expect(record.counts.refs).toBe(0);
    expect(queue.calls).toBe(0);
  });

  it('throws unusable manifests instead when asked (the API answers 400) and writes nothing', async () => {
    const { deps, store } = setup({ 'archive/manifests/h.csv': 'id,name\n1,x\n' });
    await expect(
      runManifestJob({ ...input('manifests/h.csv'), rejectUnusable: true }, deps),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      runManifestJob({ ...input('manifests/missing.csv'), rejectUnusable: true }, deps),
    ).rejects.toMatchObject({ code: 'manifest_not_found' });
    expect(store.data.size).toBe(0);
  });

  it('throws a retryable read failure without writing a record, so the event is retried', async () => {
    const store = memoryStore();
    const flaky: ManifestSource = {
      async open() {
        throw new AppError('manifest_read_failed', 'could not read', { retryable: true, status: 503 });
      },
    };
    await expect(
      runManifestJob(input('manifests/a.csv'), { store, queue: recordingQueue(), manifests: flaky }),
    ).rejects.toMatchObject({ code: 'manifest_read_failed' });
    expect(store.data.size).toBe(0);
  });

  it('keeps what came before a JSON array that breaks part way, and records the break', async () => {
    const { deps, queue } = setup({
      'archive/manifests/a.json': '[{"id":"1","key":"k1"},{"id":"2","key":"k2"} {"id":"3","key":"k3"}]',
    });
    const { record } = await runManifestJob(input('manifests/a.json'), deps);
    expect(queue.messages.flatMap((m) => m.refs.map((r) => r.id))).toEqual(['1', '2']);
    expect((record as JobRecord).error?.message).toMatch(/expected "," or "]"/);
  });
});
