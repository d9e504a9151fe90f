/**
 * The scheduled sync against the 合思 sandbox's demo tenant, through the real client over 127.0.0.1, real job
 * creation (createJob) with a recording queue, and job records and sync state in s3rver: backfill, incremental
 * runs, overlap, a failing listing, a backfill spread over invocations, and the lock.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3ReportStore } from '../../../functions/aws/s3-report-store.js';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../../functions/core/ekuaibao/client.js';
import { refsJobStarter } from '../../../functions/core/jobs/create-job.js';
import type { BatchMessage } from '../../../functions/core/model/batch.js';
import type { ApplyListQuery, EkuaibaoForm } from '../../../functions/core/model/forms.js';
import type { JobRecord } from '../../../functions/core/model/job.js';
import type { FormsSource, ReportStore } from '../../../functions/core/ports.js';
import { parseChinaTime } from '../../../functions/core/sync/china-time.js';
import { runSync, type SyncDeps, type SyncJobInput } from '../../../functions/core/sync/run-sync.js';
import type { SyncState } from '../../../functions/core/sync/state.js';
import type { SyncOptions } from '../../../functions/core/sync/sync-options.js';
import { createReportStoreVersionedStore } from '../../../functions/core/sync/versioned-store.js';
import { demoForms } from '../../../infra/local/sandbox/demo-data.js';
import { findAttachmentObjects } from '../../../infra/local/sandbox/forms.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';

const china = (text: string): number => {
  const ms = parseChinaTime(text);
  if (ms === undefined) throw new Error(`bad time ${text}`);
  return ms;
};
let sandbox: EkuaibaoSandbox;
let client: EkuaibaoClient;
let s3: TestS3;
let reports: ReportStore;
let testNo = 0;

beforeAll(async () => {
  s3 = await startS3rver();
  reports = createS3ReportStore(s3.client, s3.bucket);
});

afterAll(async () => {
  await s3.close();
});

beforeEach(async () => {
  sandbox = await startEkuaibaoSandbox();
  client = createEkuaibaoClient({
    baseUrl: sandbox.baseUrl,
    credentials: () => ({ appKey: sandbox.appKey, appSecurity: sandbox.appSecurity }),
    // Backoff without waiting: the retries still go over the wire.
    sleep: async () => {},
  });
});

afterEach(async () => {
  await client.close();
  await sandbox.close();
});

/**
 * One sync installation: its own state key and job prefix in the shared bucket, the real job creation with a
 * queue that records every message, and a clock the test moves.
 */
function harness(startNow: string, forms: Pick<FormsSource, 'getApplyList'> = client) {
  testNo += 1;
  const stateKey = `sync-${testNo}/state.json`;
  const reportPrefix = `jobs-${testNo}/`;
  const messages: BatchMessage[] = [];
  const startJob = refsJobStarter({
    queue: {
      sendBatches: async (batch) => {
        messages.push(...structuredClone(batch));
      },
    },
    store: reports,
    reportPrefix,
  });
  const jobs: SyncJobInput[] = [];
  let now = china(startNow);
  let n = 0;
  const deps: SyncDeps = {
    forms,
    state: createReportStoreVersionedStore(reports),
    startJob: async (input) => {
      jobs.push(structuredClone(input));
      return startJob(input);
    },
    now: () => now,
    sleep: async () => {},
    newJobId: () => `sync-job-${++n}`,
  };
  return {
    deps,
    stateKey,
    options: (extra: Partial<SyncOptions> = {}): SyncOptions => ({ ...options, stateKey, ...extra }),
    jobs,
    messages,
    refs: () => jobs.flatMap((j) => j.items),
    state: async () => (await reports.getJson<SyncState>(stateKey)) as SyncState,
    jobRecord: (jobId: string) => reports.getJson<JobRecord>(`${reportPrefix}${jobId}/job.json`),
    setNow: (text: string) => {
      now = china(text);
    },
  };
}

/** What the demo tenant should yield, computed with the sandbox's own walker: (flowId, fileId, key) of live forms. */
function expectedRefs(forms: EkuaibaoForm[]): string[] {
  const out = new Set<string>();
  for (const form of forms) {
    if (form.active === false) continue;
    for (const o of findAttachmentObjects(form)) out.add(`${form.id}|${String(o.fileId)}|${String(o.key)}`);
  }
  return [...out].sort();
}
const identities = (refs: SyncJobInput['items']) =>
  refs.map((r) => `${r.vars?.flowId}|${r.id}|${r.key}`).sort();

// The file walk (EKB_SYNC_MODE=files); packages mode is tested in test/integration/packages/.
const options: SyncOptions = { mode: 'files', startDate: '2026-03-01', overlapMinutes: 10 };

describe('scheduled sync against the sandbox', () => {
  it('backfills the demo tenant: every attachment of every live form, custom fields and logs included', async () => {
    const h = harness('2026-03-06 12:00:00');
    const summary = await runSync(h.options(), h.deps);

    const demo = demoForms();
    expect(summary).toMatchObject({
      status: 'done',
      windows: 6,
      forms: demo.length,
      formsDeleted: 1,
      formsWithoutAttachments: 1,
      invalidAttachments: 0,
    });
    expect(identities(h.refs())).toEqual(expectedRefs(demo));
    expect(summary.refs).toBe(expectedRefs(demo).length);

    const byId = new Map(h.refs().map((r) => [`${r.vars?.flowId}|${r.id}`, r]));
    // A tenant's own field on the form (u_附件), inside a detail line (u_合同), and an approval log's attachment.
    expect(byId.get('ID_3kPq8Xz1a02|BbU6qDgZ4wCo00')).toMatchObject({
      fileName: `预算表 v2 (final) #3 & 50%+折扣=?'x'.xlsx`,
      vars: { flowId: 'ID_3kPq8Xz1a02', flowCode: 'B26000002', formType: 'expense' },
    });
    expect(byId.get('ID_3kPq8Xz1c02|HhA2wJmF0cIu00')?.fileName).toBe('合同扫描件.pdf');
    expect(byId.get('ID_3kPq8Xz1a01|AaT5pCfY3vBn00')?.fileName).toBe('审批意见.png');
    // A DP: key travels byte for byte.
    const dp = byId.get('ID_3kPq8Xz1b01|136634573450');
    expect(dp?.key.startsWith('DP:{')).toBe(true);
    expect(dp?.fileName).toBe('会议纪要.docx');
    // The deleted form's file is counted, not queued.
    expect(h.refs().some((r) => r.id === 'EeX9tGjC7zFr00')).toBe(false);

    expect((await h.state()).watermark?.epochMs).toBe(china('2026-03-06 12:00:00'));
    expect((await h.state()).backfill?.finishedAt).toBeDefined();
    expect(new Set(h.jobs.map((j) => j.keyTemplate))).toEqual(
      new Set(['forms/{formType}/{flowCode}/{fileId}-{fileName}']),
    );

    // Every ref reached the queue as a batch of its window's job, and each job's record is in the bucket.
    expect(identities(h.messages.flatMap((m) => m.refs))).toEqual(expectedRefs(demo));
    expect(new Set(h.messages.map((m) => m.jobId))).toEqual(new Set(summary.jobIds));
    for (const jobId of summary.jobIds) {
      const record = await h.jobRecord(jobId);
      const queued = h.messages.filter((m) => m.jobId === jobId).flatMap((m) => m.refs).length;
      expect(record).toMatchObject({
        jobId,
        source: { kind: 'schedule' },
        counts: { refs: queued, duplicates: 0 },
      });
    }
    expect((await h.state()).lastJobId).toBe(summary.jobIds.at(-1));
  });

  it('incremental runs see only the changes, and skip forms already handled in the overlap', async () => {
    // A form updated 2 minutes before the first run's end: handled by the first run, listed again by the second.
    const edgeForm = structuredClone(demoForms()[8]!);
    edgeForm.updateTime = china('2026-03-06 11:58:00');
    sandbox.putForm(edgeForm);
    const h = harness('2026-03-06 12:00:00');
    await runSync(h.options(), h.deps);
    const firstJobs = h.jobs.length;

    h.setNow('2026-03-06 13:00:00');
    const changed = structuredClone(demoForms()[1]!);
    changed.updateTime = china('2026-03-06 12:30:00');
    (changed.form as Record<string, unknown>).u_附件 = [
      { fileId: 'NEWFILE0001', key: 'openapi-new-追加材料.pdf', fileName: '追加材料.pdf' },
    ];
    sandbox.putForm(changed);
    const second = await runSync(h.options(), h.deps);

    expect(second).toMatchObject({ status: 'done', windows: 1, forms: 1, formsAlreadySeen: 1 });
    const newJob = h.jobs[firstJobs];
    expect(h.jobs).toHaveLength(firstJobs + 1);
    expect(newJob?.source).toEqual({
      kind: 'schedule',
      windowStart: new Date(china('2026-03-06 11:50:00')).toISOString(),
      windowEnd: new Date(china('2026-03-06 13:00:00')).toISOString(),
    });
    expect(identities(newJob!.items)).toEqual(expectedRefs([changed]));
    expect(newJob!.items.map((r) => r.id)).toContain('NEWFILE0001');

    h.setNow('2026-03-06 14:00:00');
    const third = await runSync(h.options(), h.deps);
    expect(third).toMatchObject({ status: 'nothing_to_do', refs: 0 });
  });

  it('a listing that fails mid-window leaves the watermark, and the next run re-covers the window', async () => {
    const h = harness('2026-03-06 12:00:00');
    await runSync(h.options(), h.deps);
    const watermark = (await h.state()).watermark;

    h.setNow('2026-03-06 18:00:00');
    const changedA = structuredClone(demoForms()[0]!);
    changedA.updateTime = china('2026-03-06 13:00:00');
    const changedB = structuredClone(demoForms()[6]!);
    changedB.updateTime = china('2026-03-06 14:00:00');
    sandbox.putForm(changedA);
    sandbox.putForm(changedB);

    // The expense pages succeed; from the requisition listing on, 合思 answers 500 more often than the client retries.
    const firedBefore = sandbox.stats.faultsFired.status ?? 0;
    const failing: Pick<FormsSource, 'getApplyList'> = {
      getApplyList: (q: ApplyListQuery) => {
        if (q.type === 'requisition' && q.start === 0) {
          sandbox.inject({ kind: 'status', route: 'applyList', status: 500, times: 10 });
        }
        return client.getApplyList(q);
      },
    };
    await expect(runSync(h.options(), { ...h.deps, forms: failing })).rejects.toMatchObject({
      retryable: true,
    });
    // Every one of the client's tries met the 500 (4 tries by default): the failure is real, not a shortcut.
    expect((sandbox.stats.faultsFired.status ?? 0) - firedBefore).toBeGreaterThanOrEqual(4);
    expect((await h.state()).watermark).toEqual(watermark);
    expect((await h.state()).lock).toBeUndefined();
    expect((await h.state()).lastError?.code).toBeTypeOf('string');
    const jobsAfterFailure = h.jobs.length;

    sandbox.clearFaults();
    const retry = await runSync(h.options(), h.deps);
    expect(retry).toMatchObject({ status: 'done', windows: 1, forms: 2 });
    expect(h.jobs).toHaveLength(jobsAfterFailure + 1);
    expect(identities(h.jobs.at(-1)!.items)).toEqual(expectedRefs([changedA, changedB]));
    expect((await h.state()).watermark?.epochMs).toBe(china('2026-03-06 18:00:00'));
  });

  it('a long backfill continues across invocations from where the last one stopped', async () => {
    // Each getApplyList call "costs" 10 s of the invocation; 7 types a window = 70 s.
    let budgetLeft = 0;
    const metered: Pick<FormsSource, 'getApplyList'> = {
      getApplyList: (q) => {
        budgetLeft -= 10_000;
        return client.getApplyList(q);
      },
    };
    const h = harness('2026-03-06 12:00:00', metered);
    const invoke = () => {
      // Room for two windows (2 × 70 s) before the 60 s reserve is reached.
      budgetLeft = 190_000;
      return runSync(h.options({ windowReserveMs: 60_000, remainingMs: () => budgetLeft }), h.deps);
    };

    const statuses: string[] = [];
    const watermarks: string[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await invoke();
      statuses.push(s.status);
      watermarks.push((await h.state()).watermark!.iso);
      if (s.status === 'done') break;
    }
    expect(statuses).toEqual(['partial', 'partial', 'done']);
    expect(watermarks).toEqual([
      new Date(china('2026-03-03 00:00:00')).toISOString(),
      new Date(china('2026-03-05 00:00:00')).toISOString(),
      new Date(china('2026-03-06 12:00:00')).toISOString(),
    ]);
    expect(identities(h.refs())).toEqual(expectedRefs(demoForms()));
  });

  it('two runs at once: one works, the other exits cleanly; a stale lock expires', async () => {
    const h = harness('2026-03-06 12:00:00');
    const [a, b] = await Promise.all([runSync(h.options(), h.deps), runSync(h.options(), h.deps)]);
    expect([a.status, b.status].sort()).toEqual(['done', 'skipped_locked']);
    expect(identities(h.refs())).toEqual(expectedRefs(demoForms()));

    // A run that crashed left its lock: blocked until the lock's TTL has passed, then the schedule resumes.
    await h.deps.state.putIfMatch(
      h.stateKey,
      {
        ...(await h.state()),
        lock: { runId: 'crashed', acquiredAt: '', expiresAt: '', expiresAtMs: china('2026-03-06 12:16:00') },
      },
      (await h.deps.state.get(h.stateKey))!.etag,
    );
    h.setNow('2026-03-06 12:10:00');
    expect((await runSync(h.options(), h.deps)).status).toBe('skipped_locked');
    h.setNow('2026-03-06 12:16:00');
    expect((await runSync(h.options(), h.deps)).status).toBe('nothing_to_do');
  });
});
