import { describe, expect, it } from 'vitest';
import { AppError, ValidationError } from '../../../../functions/core/errors.js';
import { runSync, type SyncDeps } from '../../../../functions/core/sync/run-sync.js';
import type { SyncState } from '../../../../functions/core/sync/state.js';
import type { SyncOptions } from '../../../../functions/core/sync/sync-options.js';
import { createMemoryVersionedStore } from '../../../../functions/core/sync/versioned-store.js';
import { FakeClock, FakeForms, ids, JobRecorder, makeForm } from './fakes.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** 2026-03-01 00:00:00 China time. */
const T0 = Date.UTC(2026, 1, 28, 16, 0, 0);
const STATE_KEY = 'sync/state.json';

function setup(forms: FakeForms, nowMs: number) {
  const store = createMemoryVersionedStore();
  const jobs = new JobRecorder();
  const clock = new FakeClock(nowMs);
  const sleeps: number[] = [];
  const deps: SyncDeps = {
    forms,
    state: store,
    startJob: jobs.startJob,
    now: clock.now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    newRunId: ids('run'),
    newJobId: ids('job'),
  };
  const state = () => store.peek(STATE_KEY) as SyncState | undefined;
  return { store, jobs, clock, sleeps, deps, state };
}

// The file walk (EKB_SYNC_MODE=files); packages mode is tested in test/integration/packages/.
const base: SyncOptions = { mode: 'files', startDate: '2026-03-01', formTypes: ['expense', 'loan'] };
const f = (n: number) => ({ fileId: `F${n}`, key: `openapi-${n}-f${n}.pdf`, fileName: `f${n}.pdf` });

describe('runSync: first run', () => {
  it('refuses to start without a watermark or a start date, and leaves no lock behind', async () => {
    const { deps, state } = setup(new FakeForms(), T0 + DAY);
    await expect(runSync({ mode: 'files', formTypes: ['expense'] }, deps)).rejects.toThrow(ValidationError);
    await expect(runSync({ mode: 'files', formTypes: ['expense'] }, deps)).rejects.toThrow(/syncStartDate/);
    expect(state()?.lock).toBeUndefined();
    expect(state()?.watermark).toBeUndefined();
  });

  it('backfills from the start date in windows up to now and queues one job per window with refs', async () => {
    const forms = new FakeForms([
      makeForm('e1', 'expense', T0 + 2 * HOUR, [f(1)]),
      makeForm('l1', 'loan', T0 + DAY + HOUR, [f(2), f(3)]),
      makeForm('e2', 'expense', T0 + 2 * DAY + 5 * HOUR, [f(4)]),
    ]);
    const { deps, jobs, state } = setup(forms, T0 + 2 * DAY + 6 * HOUR + 123);
    const summary = await runSync(base, deps);

    expect(summary).toMatchObject({
      status: 'done',
      windows: 3,
      forms: 3,
      refs: 4,
      jobIds: ['job-1', 'job-2', 'job-3'],
    });
    expect(summary.watermark?.epochMs).toBe(T0 + 2 * DAY + 6 * HOUR);
    expect(jobs.jobs.map((j) => j.source)).toEqual([
      {
        kind: 'schedule',
        windowStart: new Date(T0).toISOString(),
        windowEnd: new Date(T0 + DAY).toISOString(),
      },
      {
        kind: 'schedule',
        windowStart: new Date(T0 + DAY - 10 * MIN).toISOString(),
        windowEnd: new Date(T0 + 2 * DAY).toISOString(),
      },
      {
        kind: 'schedule',
        windowStart: new Date(T0 + 2 * DAY - 10 * MIN).toISOString(),
        windowEnd: new Date(T0 + 2 * DAY + 6 * HOUR).toISOString(),
      },
    ]);
    expect(jobs.jobs[1]?.items).toEqual([
      {
        id: 'F2',
        key: 'openapi-2-f2.pdf',
        fileName: 'f2.pdf',
        vars: { flowId: 'l1', flowCode: 'C-l1', formType: 'loan' },
      },
      {
        id: 'F3',
        key: 'openapi-3-f3.pdf',
        fileName: 'f3.pdf',
        vars: { flowId: 'l1', flowCode: 'C-l1', formType: 'loan' },
      },
    ]);
    expect(jobs.jobs[0]?.keyTemplate).toBe('forms/{formType}/{flowCode}/{fileId}-{fileName}');
    expect(state()).toMatchObject({
      watermark: { epochMs: T0 + 2 * DAY + 6 * HOUR, iso: '2026-03-02T22:00:00.000Z' },
      lastJobId: 'job-3',
      backfill: { startDate: '2026-02-28T16:00:00.000Z', finishedAt: '2026-03-02T22:00:00.000Z' },
      lastRun: { runId: 'run-1', status: 'done', windows: 3 },
    });
    expect(state()?.lock).toBeUndefined();
  });

  it('asks getApplyList for updateTime ascending, pages of 100, each type, with China-time dates', async () => {
    const forms = new FakeForms();
    const { deps } = setup(forms, T0 + 6 * HOUR);
    await runSync(base, deps);
    expect(forms.queries).toEqual([
      expect.objectContaining({
        type: 'expense',
        start: 0,
        count: 100,
        orderBy: 'updateTime',
        orderByType: 'asc',
        startDate: '2026-03-01 00:00:00',
        endDate: '2026-03-01 06:00:00',
      }),
      expect.objectContaining({ type: 'loan', startDate: '2026-03-01 00:00:00' }),
    ]);
  });

  it('lists every form type when no subset is configured', async () => {
    const forms = new FakeForms();
    const { deps } = setup(forms, T0 + HOUR);
    await runSync({ mode: 'files', startDate: '2026-03-01' }, deps);
    expect(forms.queries.map((q) => q.type)).toEqual([
      'expense',
      'loan',
      'payment',
      'requisition',
      'custom',
      'receipt',
      'permit',
    ]);
  });

  it('rejects unknown form types and bad page sizes with a message naming the option', async () => {
    const { deps } = setup(new FakeForms(), T0 + HOUR);
    await expect(runSync({ ...base, formTypes: ['expense', 'invoice'] }, deps)).rejects.toThrow(
      /formTypes.*"invoice"/,
    );
    await expect(runSync({ ...base, pageSize: 101 }, deps)).rejects.toThrow(/pageSize/);
    await expect(runSync({ ...base, startDate: 'soon' }, deps)).rejects.toThrow(/syncStartDate/);
  });
});

describe('runSync: paging', () => {
  it('reads every page of a busy window and pauses politely between pages', async () => {
    const many = Array.from({ length: 250 }, (_, i) =>
      makeForm(`e${String(i).padStart(3, '0')}`, 'expense', T0 + i * 1000, [f(i)]),
    );
    const forms = new FakeForms(many);
    const { deps, jobs, sleeps } = setup(forms, T0 + HOUR);
    const summary = await runSync({ ...base, formTypes: ['expense'], pagePauseMs: 200 }, deps);
    expect(forms.queries.map((q) => q.start)).toEqual([0, 100, 200]);
    expect(sleeps).toEqual([200, 200]);
    expect(summary).toMatchObject({ pages: 3, forms: 250, refs: 250 });
    expect(new Set(jobs.refs.map((r) => r.id)).size).toBe(250);
  });

  it('steps back when forms leave the window while it is paged, so none is skipped', async () => {
    const many = Array.from({ length: 6 }, (_, i) => makeForm(`e${i}`, 'expense', T0 + i * 1000, [f(i)]));
    const forms = new FakeForms(many);
    // Before the second page, e0 and e1 are edited: they move past the window's end and the rest shift back.
    forms.beforeAnswer = (_q, call) => {
      if (call === 2) {
        forms.put(makeForm('e0', 'expense', T0 + 2 * HOUR, [f(0)]));
        forms.put(makeForm('e1', 'expense', T0 + 2 * HOUR, [f(1)]));
      }
    };
    const { deps, jobs } = setup(forms, T0 + HOUR);
    await runSync({ ...base, formTypes: ['expense'], pageSize: 2 }, deps);
    expect(jobs.refs.map((r) => r.id).sort()).toEqual(['F0', 'F1', 'F2', 'F3', 'F4', 'F5']);
  });
});

describe('runSync: incremental runs', () => {
  it('sees only forms changed since the watermark and skips the ones already handled in the overlap', async () => {
    const forms = new FakeForms([
      makeForm('e1', 'expense', T0 + HOUR, [f(1)]),
      makeForm('e2', 'expense', T0 + 2 * HOUR - 5 * MIN, [f(2)]),
    ]);
    const { deps, jobs, clock, state } = setup(forms, T0 + 2 * HOUR);
    const first = await runSync(base, deps);
    expect(first.refs).toBe(2);

    clock.advance(HOUR);
    forms.put(makeForm('e1', 'expense', T0 + 2 * HOUR + 20 * MIN, [f(1), f(5)]));
    forms.put(makeForm('l9', 'loan', T0 + 3 * HOUR - 3 * MIN, [f(9)]));
    const second = await runSync(base, deps);

    // e2 sits in the 10-minute overlap: listed again, recognised by id+updateTime, not queued again.
    expect(second).toMatchObject({ status: 'done', windows: 1, forms: 2, formsAlreadySeen: 1, refs: 3 });
    expect(jobs.jobs[1]?.items.map((r) => r.id).sort()).toEqual(['F1', 'F5', 'F9']);
    expect(jobs.jobs[1]?.source.windowStart).toBe(new Date(T0 + 2 * HOUR - 10 * MIN).toISOString());
    expect(state()?.watermark?.epochMs).toBe(T0 + 3 * HOUR);
    // The edge keeps only forms the next window (from 2:50) can list again.
    expect(state()?.edge).toEqual([['l9', T0 + 3 * HOUR - 3 * MIN]]);
  });

  it('reports nothing_to_do when nothing changed, and still moves the watermark', async () => {
    const { deps, jobs, clock, state } = setup(
      new FakeForms([makeForm('e1', 'expense', T0 + HOUR, [f(1)])]),
      T0 + 2 * HOUR,
    );
    await runSync(base, deps);
    clock.advance(HOUR);
    const again = await runSync(base, deps);
    expect(again).toMatchObject({ status: 'nothing_to_do', windows: 1, forms: 0, refs: 0, jobIds: [] });
    expect(jobs.jobs).toHaveLength(1);
    expect(state()?.watermark?.epochMs).toBe(T0 + 3 * HOUR);
  });

  it('counts deleted forms and forms without attachments instead of failing', async () => {
    const forms = new FakeForms([
      makeForm('e1', 'expense', T0 + HOUR, [f(1)]),
      makeForm('gone', 'expense', T0 + HOUR + 1000, [f(2)], { active: false }),
      makeForm('empty', 'loan', T0 + HOUR + 2000, []),
    ]);
    const { deps, jobs } = setup(forms, T0 + 2 * HOUR);
    const summary = await runSync(base, deps);
    expect(summary).toMatchObject({
      status: 'done',
      forms: 3,
      formsDeleted: 1,
      formsWithoutAttachments: 1,
      refs: 1,
    });
    expect(jobs.refs.map((r) => r.id)).toEqual(['F1']);
  });

  it('queues a deleted form’s attachments when asked to', async () => {
    const forms = new FakeForms([makeForm('gone', 'expense', T0 + HOUR, [f(2)], { state: 'deleted' })]);
    const { deps, jobs } = setup(forms, T0 + 2 * HOUR);
    const summary = await runSync({ ...base, includeDeletedForms: true }, deps);
    expect(summary).toMatchObject({ formsDeleted: 1, refs: 1 });
    expect(jobs.refs.map((r) => r.id)).toEqual(['F2']);
  });

  it('keeps a shared file once per form when the key names the form, once per run otherwise', async () => {
    const shared = f(7);
    const make = () =>
      new FakeForms([
        makeForm('e1', 'expense', T0 + HOUR, [shared]),
        makeForm('l1', 'loan', T0 + HOUR, [shared, shared]),
      ]);
    const perForm = setup(make(), T0 + 2 * HOUR);
    const a = await runSync(base, perForm.deps);
    expect(a).toMatchObject({ refs: 2, duplicates: 0 });
    expect(perForm.jobs.refs.map((r) => r.vars?.flowId)).toEqual(['e1', 'l1']);

    const flat = setup(make(), T0 + 2 * HOUR);
    const b = await runSync({ ...base, keyTemplate: 'attachments/{fileId}/{fileName}' }, flat.deps);
    expect(b).toMatchObject({ refs: 1, duplicates: 1 });
  });
});

describe('runSync: failures', () => {
  it('does not move the watermark when listing fails mid-window, and the next run re-covers the window', async () => {
    const many = Array.from({ length: 150 }, (_, i) =>
      makeForm(`e${i}`, 'expense', T0 + 3 * HOUR + i * 1000, [f(i)]),
    );
    const forms = new FakeForms([makeForm('e-early', 'expense', T0 + HOUR, [f(1000)])]);
    const { deps, jobs, clock, state } = setup(forms, T0 + 2 * HOUR);
    await runSync(base, deps);
    const watermark = state()?.watermark;

    for (const m of many) forms.put(m);
    clock.advance(4 * HOUR);
    forms.beforeAnswer = (q) => {
      if (q.type === 'expense' && q.start === 100) {
        throw new AppError('ekuaibao_http_500', 'getApplyList answered 500', { retryable: true });
      }
    };
    await expect(runSync(base, deps)).rejects.toMatchObject({ code: 'ekuaibao_http_500' });
    expect(state()?.watermark).toEqual(watermark);
    expect(state()?.lock).toBeUndefined();
    expect(state()?.lastError).toMatchObject({ runId: 'run-2', code: 'ekuaibao_http_500' });
    expect(jobs.jobs).toHaveLength(1);

    forms.beforeAnswer = undefined;
    const retry = await runSync(base, deps);
    expect(retry).toMatchObject({ status: 'done', refs: 150 });
    expect(jobs.jobs[1]?.source.windowStart).toBe(new Date(watermark!.epochMs - 10 * MIN).toISOString());
  });

  it('does not move the watermark when queuing the job fails', async () => {
    const forms = new FakeForms([makeForm('e1', 'expense', T0 + HOUR, [f(1)])]);
    const { deps, jobs, state } = setup(forms, T0 + 2 * HOUR);
    jobs.failNext = new AppError('queue_send_failed', 'SendMessageBatch failed', { retryable: true });
    await expect(runSync(base, deps)).rejects.toMatchObject({ code: 'queue_send_failed' });
    expect(state()?.watermark).toBeUndefined();
    const again = await runSync(base, deps);
    expect(again).toMatchObject({ refs: 1, windows: 1 });
  });

  it('releases the lock after a failure even when the first release hits a store error, and the next run works', async () => {
    const forms = new FakeForms([makeForm('e1', 'expense', T0 + HOUR, [f(1)])]);
    const { deps, store, sleeps, state } = setup(forms, T0 + 2 * HOUR);
    forms.beforeAnswer = () => {
      throw new AppError('ekuaibao_http_500', 'getApplyList answered 500', { retryable: true });
    };
    // The run's writes: the lock (1st), then the release after the failure (2nd) fails once as S3 might.
    const putIfMatch = store.putIfMatch.bind(store);
    let writes = 0;
    store.putIfMatch = async (key, value, etag) => {
      writes += 1;
      if (writes === 2) throw new AppError('state_write_failed', 'S3 answered SlowDown', { retryable: true });
      return putIfMatch(key, value, etag);
    };
    await expect(runSync(base, deps)).rejects.toMatchObject({ code: 'ekuaibao_http_500' });
    expect(writes).toBe(3);
    expect(sleeps).toContain(500);
    expect(state()?.lock).toBeUndefined();
    expect(state()?.lastError).toMatchObject({ code: 'ekuaibao_http_500' });

    forms.beforeAnswer = undefined;
    expect(await runSync(base, deps)).toMatchObject({ status: 'done', refs: 1 });
  });
});

describe('runSync: lock', () => {
  it('exits with skipped_locked while another run holds a live lock, without listing', async () => {
    const forms = new FakeForms([makeForm('e1', 'expense', T0 + HOUR, [f(1)])]);
    const { deps, store, clock } = setup(forms, T0 + 2 * HOUR);
    await store.putIfMatch(
      STATE_KEY,
      {
        v: 1,
        edge: [],
        lock: { runId: 'other', acquiredAt: '', expiresAt: 'soon', expiresAtMs: clock.ms + MIN },
      },
      null,
    );
    const summary = await runSync(base, deps);
    expect(summary).toMatchObject({ status: 'skipped_locked', lockedBy: { runId: 'other' }, windows: 0 });
    expect(forms.queries).toHaveLength(0);
  });

  it('takes over a lock left by a crashed run once it has expired', async () => {
    const forms = new FakeForms([makeForm('e1', 'expense', T0 + HOUR, [f(1)])]);
    const { deps, store, clock } = setup(forms, T0 + 2 * HOUR);
    await store.putIfMatch(
      STATE_KEY,
      { v: 1, edge: [], lock: { runId: 'crashed', acquiredAt: '', expiresAt: '', expiresAtMs: clock.ms } },
      null,
    );
    const summary = await runSync(base, deps);
    expect(summary).toMatchObject({ status: 'done', refs: 1 });
  });

  it('never lets two concurrent runs both work', async () => {
    const forms = new FakeForms([makeForm('e1', 'expense', T0 + HOUR, [f(1)])]);
    const { deps, jobs } = setup(forms, T0 + 2 * HOUR);
    const results = await Promise.all([runSync(base, deps), runSync(base, deps)]);
    expect(results.map((r) => r.status).sort()).toEqual(['done', 'skipped_locked']);
    expect(jobs.jobs).toHaveLength(1);
  });
});

describe('runSync: time limits', () => {
  it('stops starting windows when time runs short, and the next invocation continues from the cursor', async () => {
    const forms = new FakeForms(
      Array.from({ length: 5 }, (_, d) => makeForm(`e${d}`, 'expense', T0 + d * DAY + HOUR, [f(d)])),
    );
    const { deps, jobs, clock, state } = setup(forms, T0 + 4 * DAY + 2 * HOUR);
    // Each window costs a minute of the invocation's 3.5 minutes; the reserve is 2 minutes.
    const invocation = () => {
      const deadline = clock.ms + 3.5 * MIN;
      return () => deadline - clock.ms;
    };
    forms.beforeAnswer = () => clock.advance(MIN);
    const opts = { ...base, formTypes: ['expense'], windowReserveMs: 2 * MIN };

    const first = await runSync({ ...opts, remainingMs: invocation() }, deps);
    expect(first).toMatchObject({ status: 'partial', stoppedBecause: 'time', windows: 2 });
    expect(state()?.watermark?.epochMs).toBe(T0 + 2 * DAY);
    expect(state()?.backfill?.finishedAt).toBeUndefined();

    const second = await runSync({ ...opts, remainingMs: invocation() }, deps);
    expect(second).toMatchObject({ status: 'partial', windows: 2 });
    const third = await runSync({ ...opts, remainingMs: invocation() }, deps);
    expect(third).toMatchObject({ status: 'done', windows: 1 });
    expect(jobs.refs.map((r) => r.id)).toEqual(['F0', 'F1', 'F2', 'F3', 'F4']);
    expect(state()?.backfill?.finishedAt).toBeDefined();
  });

  it('abandons a window cut off by the deadline signal, keeps the watermark, and shrinks the next window', async () => {
    const forms = new FakeForms([
      makeForm('e1', 'expense', T0 + HOUR, [f(1)]),
      makeForm('l1', 'loan', T0 + DAY + HOUR, [f(2)]),
    ]);
    const { deps, jobs, state } = setup(forms, T0 + 2 * DAY);
    const controller = new AbortController();
    forms.beforeAnswer = (q) => {
      if (
        q.startDate === '2026-03-02 23:50:00' ||
        (q.type === 'loan' && q.startDate?.startsWith('2026-03-01 23'))
      ) {
        controller.abort();
        throw new AppError('aborted', 'aborted', { retryable: true });
      }
    };
    const summary = await runSync({ ...base, signal: controller.signal }, deps);
    expect(summary).toMatchObject({ status: 'partial', stoppedBecause: 'aborted', windows: 1 });
    expect(state()?.watermark?.epochMs).toBe(T0 + DAY);
    expect(state()?.windowMs).toBe(12 * HOUR);
    expect(state()?.lock).toBeUndefined();
    expect(jobs.jobs).toHaveLength(1);

    forms.beforeAnswer = undefined;
    const next = await runSync(base, deps);
    expect(next).toMatchObject({ status: 'done', windows: 2, refs: 1 });
    expect(jobs.refs.map((r) => r.id)).toEqual(['F1', 'F2']);
  });
});
