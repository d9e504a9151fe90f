/**
 * The scheduled sync in packages mode (the default): the fan-out hook for an EventBridge tick lists the demo
 * forms window by window, seals those in a final state into packages, records the others, and moves the
 * watermark; the next tick has nothing to do, and a form changed since gets a second version and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/config.js';
import type { BatchMessage } from '../../../functions/core/model/batch.js';
import type { JobRecord } from '../../../functions/core/model/job.js';
import { parseChinaTime } from '../../../functions/core/sync/china-time.js';
import type { SyncSummary } from '../../../functions/core/sync/run-sync.js';
import type { SyncState } from '../../../functions/core/sync/state.js';
import { createReportStoreVersionedStore } from '../../../functions/core/sync/versioned-store.js';
import { createScheduledSync, type ScheduledSyncHook } from '../../../functions/fan-out/scheduled-sync.js';
import { createLogger } from '../../../functions/logger.js';
import { type Harness, keysUnder, runMessages, startHarness } from './harness.js';

let h: Harness;
let sync: ScheduledSyncHook;
const queued: BatchMessage[] = [];
let now = parseChinaTime('2026-03-06 12:00:00') as number;
// The sandbox's clock (a changed form's updateTime), a little ahead of the sync's.
let tenantNow = now;

const tick = async (): Promise<SyncSummary> => {
  const summary = await sync(
    { id: `tick-${now}`, time: new Date(now).toISOString() } as Parameters<ScheduledSyncHook>[0],
    { getRemainingTimeInMillis: () => 900_000 },
  );
  await runMessages(h, queued.splice(0));
  return summary;
};

const versions = async (root: string) =>
  (await keysUnder(h, root)).filter((k) => k.endsWith('/package.json'));

beforeAll(async () => {
  h = await startHarness({ now: () => tenantNow });
  const config = loadConfig({ EKB_SYNC_START_DATE: '2026-03-01', EKB_BUCKET: h.s3.bucket });
  expect(config.syncMode).toBe('packages');
  sync = createScheduledSync(config, {
    forms: h.client,
    packageSource: h.client,
    state: createReportStoreVersionedStore(h.store),
    queue: { sendBatches: async (batch) => void queued.push(...batch) },
    store: h.store,
    logger: createLogger({ write: () => {} }),
    options: { pagePauseMs: 0 },
    now: () => now,
  });
});
afterAll(async () => {
  await h.close();
});

describe('the scheduled sync archives form packages', () => {
  it('seals the forms in a final state, records the others, and keeps its watermark', async () => {
    const first = await tick();
    // Six of the ten demo forms are paid or archived; two are in approval, one a draft, one deleted.
    expect(first).toMatchObject({ status: 'done', forms: 10, packages: 6, formsHeld: 4, formsUnchanged: 0 });
    const state = await h.store.getJson<SyncState>('sync/state.json');
    expect(state?.watermark?.epochMs).toBe(now);
    expect(state?.lock).toBeUndefined();

    const sealed = ['expense/B26000001', 'expense/B26000003', 'loan/J26000001', 'requisition/S26000001'];
    for (const code of [...sealed, 'custom/C26000001', 'payment/P26000001']) {
      expect(await versions(`forms/${code}/`), code).toHaveLength(1);
    }
    for (const code of ['expense/B26000002', 'requisition/S26000002', 'custom/C26000002', 'loan/J26000002']) {
      expect(await keysUnder(h, `forms/${code}/`), code).toEqual([]);
    }
    const records = await Promise.all(
      first.jobIds.map((id) => h.store.getJson<JobRecord>(`jobs/${id}/job.json`)),
    );
    const held = records.flatMap((r) => r?.packages?.heldForms ?? []).map((f) => [f.code, f.state]);
    expect(held.sort()).toEqual(
      [
        ['B26000002', 'approving'],
        ['C26000002', 'draft'],
        ['J26000002', 'rejected'],
        ['S26000002', 'approving'],
      ].sort(),
    );
  });

  it('has nothing to do on the next tick, and archives only the second version of a form changed since', async () => {
    now += 60 * 60_000;
    expect(await tick()).toMatchObject({ status: 'nothing_to_do', packages: 0 });

    tenantNow = now + 60_000;
    h.sandbox.changeForm('ID_3kPq8Xz1d01', { attachment: { fileName: '补充.txt', size: 300 } });
    now += 2 * 60_000;
    const third = await tick();
    expect(third).toMatchObject({ packages: 1, formsHeld: 0 });
    expect(await versions('forms/custom/C26000001/')).toHaveLength(2);
  });
});
