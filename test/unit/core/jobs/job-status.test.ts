import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../functions/core/errors.js';
import { getJobStatus, summarizeJob } from '../../../../functions/core/jobs/job-status.js';
import { batchReportKey, jobRecordKey } from '../../../../functions/core/jobs/keys.js';
import { batchReport, copied, failed, jobRecord, memoryStore, skipped } from './job-fakes.js';

const JOB = '20250623T050017Z-abc';
const threeBatches = jobRecord({
  counts: { refs: 7, batches: 3, duplicates: 1, badLines: 0 },
  batchIds: ['b00001', 'b00002', 'b00003'],
  batchSizes: [3, 3, 1],
});

describe('summarizeJob', () => {
  it('counts every queued ref as pending and the job as running when no batch has reported', () => {
    const status = summarizeJob(threeBatches, []);
    expect(status.state).toBe('running');
    expect(status.totals).toEqual({ refs: 7, copied: 0, skipped: 0, failed: 0, pending: 7, bytes: 0 });
    expect(status.batches).toEqual({ total: 3, reported: 0, final: 0 });
  });

  it('adds copied bytes and counts skipped refs; unreported batches stay pending', () => {
    const status = summarizeJob(threeBatches, [
      batchReport('b00001', [copied('a', 100), copied('b', 23), skipped('c')], { final: true }),
    ]);
    expect(status.totals).toEqual({ refs: 7, copied: 2, skipped: 1, failed: 0, pending: 4, bytes: 123 });
    expect(status.state).toBe('running');
  });

  it('counts a retryable failure as pending while its batch will be tried again', () => {
    const status = summarizeJob(threeBatches, [
      batchReport('b00001', [copied('a', 1), failed('b', true), skipped('c')]),
    ]);
    expect(status.totals.failed).toBe(0);
    expect(status.totals.pending).toBe(5);
    expect(status.failures).toEqual([]);
  });

  it('counts a permanent failure as failed at once, with its code, message and batch', () => {
    const status = summarizeJob(threeBatches, [
      batchReport('b00002', [failed('d', false), copied('e', 5), copied('f', 5)]),
    ]);
    expect(status.totals.failed).toBe(1);
    expect(status.failures).toEqual([
      {
        id: 'd',
        key: 'k-d',
        code: 'not_found',
        message: 'not_found for d',
        retryable: false,
        batchId: 'b00002',
      },
    ]);
  });

  it('counts a retryable failure as failed once the batch report is final (no tries left)', () => {
    const status = summarizeJob(threeBatches, [
      batchReport('b00001', [copied('a', 1), copied('b', 1), copied('c', 1)], { final: true }),
      batchReport('b00002', [failed('d', true), copied('e', 1), skipped('f')], { final: true, attempt: 5 }),
      batchReport('b00003', [skipped('g')], { final: true }),
    ]);
    expect(status.totals).toEqual({ refs: 7, copied: 4, skipped: 2, failed: 1, pending: 0, bytes: 4 });
    expect(status.state).toBe('done_with_failures');
    expect(status.failures[0]).toMatchObject({ id: 'd', retryable: true, batchId: 'b00002' });
    expect(status.batches).toEqual({ total: 3, reported: 3, final: 3 });
  });

  it('is done when every ref is copied or skipped and nothing was bad', () => {
    const record = jobRecord({
      counts: { refs: 2, batches: 1, duplicates: 0, badLines: 0 },
      batchIds: ['b00001'],
    });
    const status = summarizeJob(record, [
      batchReport('b00001', [copied('a', 1), skipped('b')], { final: true }),
    ]);
    expect(status.state).toBe('done');
  });

  it('reports done_with_failures when only bad lines or an input error went wrong', () => {
    const withBad = jobRecord({
      counts: { refs: 1, batches: 1, duplicates: 0, badLines: 1 },
      batchIds: ['b00001'],
      badLines: [{ line: 4, message: '"key" is missing' }],
    });
    const status = summarizeJob(withBad, [batchReport('b00001', [copied('a', 1)], { final: true })]);
    expect(status.state).toBe('done_with_failures');
    expect(status.badLines).toEqual([{ line: 4, message: '"key" is missing' }]);

    const withError = jobRecord({ error: { code: 'invalid_input', message: 'CSV header lacks "id"' } });
    const errored = summarizeJob(withError, []);
    expect(errored.state).toBe('done_with_failures');
    expect(errored.error).toEqual({ code: 'invalid_input', message: 'CSV header lacks "id"' });
  });

  it('uses the latest attempt of a batch and ignores reports of other jobs or unknown batches', () => {
    const status = summarizeJob(threeBatches, [
      batchReport('b00001', [failed('a', true), failed('b', true), failed('c', true)], { attempt: 1 }),
      batchReport('b00001', [copied('a', 1), copied('b', 1), copied('c', 1)], { attempt: 2, final: true }),
      batchReport('b00009', [copied('x', 1000)]),
      batchReport('b00002', [copied('y', 1000)], { jobId: 'another-job' }),
    ]);
    expect(status.totals).toMatchObject({ copied: 3, failed: 0, pending: 4, bytes: 3 });
  });

  it('counts a ref reported twice in one report once', () => {
    const status = summarizeJob(threeBatches, [batchReport('b00003', [copied('g', 10), copied('g', 10)])]);
    expect(status.totals).toMatchObject({ copied: 1, bytes: 10, pending: 6 });
  });

  it('caps the failures listed but keeps the full count', () => {
    const many = Array.from({ length: 30 }, (_, i) => failed(`x${i}`, false));
    const record = jobRecord({
      counts: { refs: 30, batches: 1, duplicates: 0, badLines: 0 },
      batchIds: ['b00001'],
    });
    const status = summarizeJob(record, [batchReport('b00001', many)], { maxFailures: 10 });
    expect(status.totals.failed).toBe(30);
    expect(status.failures).toHaveLength(10);
  });
});

describe('getJobStatus', () => {
  it('is undefined for a job that does not exist', async () => {
    expect(await getJobStatus('20250101T000000Z-none', memoryStore())).toBeUndefined();
  });

  it('refuses a path-like job id before reading anything', async () => {
    const store = memoryStore();
    for (const id of ['../secret', 'a/b', '.hidden', '', 'x'.repeat(129), 'job id']) {
      await expect(getJobStatus(id, store)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(store.reads).toEqual([]);
  });

  it('reads job.json and only the batch reports listed under the job, with the configured prefix', async () => {
    const store = memoryStore();
    const prefix = 'reports/';
    await store.putJson(jobRecordKey(JOB, prefix), threeBatches);
    await store.putJson(
      batchReportKey(JOB, 'b00001', prefix),
      batchReport('b00001', [copied('a', 7), copied('b', 8), skipped('c')], { final: true }),
    );
    await store.putJson(
      batchReportKey(JOB, 'b00002', prefix),
      batchReport('b00002', [failed('d', false), copied('e', 1), copied('f', 1)], { final: true }),
    );
    // A neighbour job whose id starts with this one's must not leak in.
    await store.putJson(
      batchReportKey(`${JOB}x`, 'b00003', prefix),
      batchReport('b00003', [copied('zz', 999)], { jobId: `${JOB}x` }),
    );

    const status = await getJobStatus(JOB, store, prefix);

    expect(status?.totals).toEqual({ refs: 7, copied: 4, skipped: 1, failed: 1, pending: 1, bytes: 17 });
    expect(status?.state).toBe('running');
    expect(store.reads.filter((k) => k.includes('/batches/')).sort()).toEqual([
      batchReportKey(JOB, 'b00001', prefix),
      batchReportKey(JOB, 'b00002', prefix),
    ]);
  });
});
