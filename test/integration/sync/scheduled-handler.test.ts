/**
 * The fan-out handler given an EventBridge "Scheduled Event" (the fixture AWS delivers): it runs the sync wired by
 * functions/aws/scheduled-sync.ts against the sandbox, queues the refs, and keeps job records and the state in
 * s3rver. The schedule's second tick continues from the watermark the first left.
 */

import { readFile } from 'node:fs/promises';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3ReportStore } from '../../../functions/aws/s3-report-store.js';
import { compose } from '../../../functions/compose/composition.js';
import { scheduledSync } from '../../../functions/compose/sync.js';
import { loadConfig } from '../../../functions/config.js';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../../functions/core/ekuaibao/client.js';
import type { BatchMessage } from '../../../functions/core/model/batch.js';
import { type ReportStore, silentLogger } from '../../../functions/core/ports.js';
import { parseChinaTime } from '../../../functions/core/sync/china-time.js';
import type { SyncSummary } from '../../../functions/core/sync/run-sync.js';
import type { SyncState } from '../../../functions/core/sync/state.js';
import { createReportStoreVersionedStore } from '../../../functions/core/sync/versioned-store.js';
import { createHandler } from '../../../functions/fan-out/handler.js';
import { createScheduledSync } from '../../../functions/fan-out/scheduled-sync.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';

let sandbox: EkuaibaoSandbox;
let client: EkuaibaoClient;
let s3: TestS3;
let store: ReportStore;
let event: ScheduledEvent;

beforeAll(async () => {
  sandbox = await startEkuaibaoSandbox();
  client = createEkuaibaoClient({
    baseUrl: sandbox.baseUrl,
    credentials: () => ({ appKey: sandbox.appKey, appSecurity: sandbox.appSecurity }),
  });
  s3 = await startS3rver();
  store = createS3ReportStore(s3.client, s3.bucket);
  event = JSON.parse(
    await readFile(new URL('../../fixtures/events/eventbridge-scheduled.json', import.meta.url), 'utf8'),
  ) as ScheduledEvent;
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
  await s3.close();
});

const context = (remainingMs: number): Context =>
  ({ awsRequestId: 'req-1', getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

describe('fan-out handler: scheduled sync', () => {
  it('runs the sync for a Scheduled Event, and the next tick continues from the watermark', async () => {
    const config = loadConfig({
      EKB_SYNC_START_DATE: '2026-03-01',
      EKB_BUCKET: s3.bucket,
      EKB_SYNC_MODE: 'files',
    });
    const messages: BatchMessage[] = [];
    let now = parseChinaTime('2026-03-06 12:00:00')!;
    const sync = createScheduledSync(config, {
      forms: client,
      state: createReportStoreVersionedStore(store),
      queue: {
        sendBatches: async (batch) => {
          messages.push(...batch);
        },
      },
      store,
      logger: silentLogger,
      reportPrefix: config.reportPrefix,
      options: { pagePauseMs: 0 },
      now: () => now,
    });
    const handler = createHandler({
      queue: { sendBatches: async () => {} },
      store,
      manifests: { open: async () => Promise.reject(new Error('no manifests in this test')) },
      logger: silentLogger,
      bucket: s3.bucket,
      keyTemplate: config.objectKeyTemplate,
      sync,
    });

    const first = await handler(event, context(900_000));
    expect(first).toMatchObject({
      kind: 'schedule',
      result: { status: 'done', windows: 6, formsDeleted: 1 },
    });
    const summary = (first as { result: SyncSummary }).result;
    expect(messages.flatMap((m) => m.refs)).toHaveLength(summary.refs);
    expect(messages.every((m) => m.keyTemplate === 'forms/{formType}/{flowCode}/{fileId}-{fileName}')).toBe(
      true,
    );
    const state = await store.getJson<SyncState>('sync/state.json');
    expect(state?.watermark?.epochMs).toBe(now);
    expect(state?.lock).toBeUndefined();
    expect(await store.getJson(`jobs/${summary.jobIds[0]}/job.json`)).toMatchObject({
      source: { kind: 'schedule' },
    });

    now += 60 * 60_000;
    const second = await handler({ ...event, time: '2026-03-06T05:00:00Z' }, context(900_000));
    expect(second).toMatchObject({ kind: 'schedule', result: { status: 'nothing_to_do', windows: 1 } });
  });

  it('stops before the deadline when the invocation has little time left, leaving the state unlocked', async () => {
    const config = loadConfig({
      EKB_SYNC_START_DATE: '2026-03-01',
      EKB_BUCKET: s3.bucket,
      EKB_SYNC_MODE: 'files',
    });
    const sync = createScheduledSync(config, {
      forms: client,
      state: createReportStoreVersionedStore(store),
      queue: { sendBatches: async () => {} },
      store,
      logger: silentLogger,
      options: { stateKey: 'sync-short/state.json' },
      now: () => parseChinaTime('2026-03-06 12:00:00')!,
    });
    const handler = createHandler({
      queue: { sendBatches: async () => {} },
      store,
      manifests: { open: async () => Promise.reject(new Error('unused')) },
      logger: silentLogger,
      bucket: s3.bucket,
      keyTemplate: config.objectKeyTemplate,
      sync,
    });
    // 60 s left: under the sync's 2-minute reserve, so no window is started.
    const result = await handler(event, context(60_000));
    expect(result).toMatchObject({
      kind: 'schedule',
      result: { status: 'partial', stoppedBecause: 'time', windows: 0 },
    });
    const state = await store.getJson<SyncState>('sync-short/state.json');
    expect(state?.watermark).toBeUndefined();
    expect(state?.lock).toBeUndefined();
  });
});

describe('scheduledSync (the composition root)', () => {
  it('refuses to wire the sync without a bucket for its state', () => {
    expect(() =>
      scheduledSync(
        compose(loadConfig({}), {
          queue: { sendBatches: async () => {} },
          reports: store,
          logger: silentLogger,
        }),
      ),
    ).toThrow(/EKB_BUCKET/);
  });
});
