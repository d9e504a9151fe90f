/**
 * The replay of 合思's failure log (watermark, overlap, each entry once, a failed run asks again) and the two
 * FormArchiver implementations (the file walk and the form-archive request), with plain fakes.
 */
import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '../../../../functions/core/errors.js';
import { REPLAY_STATE_KEY } from '../../../../functions/core/hooks/keys.js';
import {
  type ReplayState,
  replayFailedDeliveries,
} from '../../../../functions/core/hooks/replay-failures.js';
import { requestFormArchiver } from '../../../../functions/core/hooks/request-archiver.js';
import { walkFormArchiver } from '../../../../functions/core/hooks/walk-archiver.js';
import type { EkuaibaoForm } from '../../../../functions/core/model/forms.js';
import type { JobRecord } from '../../../../functions/core/model/job.js';
import {
  type FormArchiveStart,
  type OutboundFailure,
  silentLogger,
} from '../../../../functions/core/ports.js';
import { createMemoryVersionedStore } from '../../../../functions/core/sync/versioned-store.js';
import { memoryStore } from '../jobs/job-fakes.js';

const HOUR = 3_600_000;

function replaySetup(log: OutboundFailure[]) {
  let now = Date.UTC(2026, 2, 6, 4, 0, 0);
  const store = createMemoryVersionedStore();
  const asked: Array<{ messageType: string; startMs: number; endMs: number }> = [];
  const started: FormArchiveStart[] = [];
  let failNext = false;
  const run = () =>
    replayFailedDeliveries({
      source: {
        async listOutboundFailures(q) {
          asked.push(q);
          if (failNext) {
            failNext = false;
            throw new AppError(ErrorCode.EkuaibaoNetwork, 'down', { retryable: true });
          }
          return log.filter(
            (f) => f.messageType === q.messageType && f.createTime >= q.startMs && f.createTime <= q.endMs,
          );
        },
      },
      store,
      archiver: {
        async startFormArchive(input) {
          started.push(input);
          return { outcome: 'queued', jobId: `replay-${input.flowId}` };
        },
      },
      now: () => now,
      logger: silentLogger,
      actions: ['flow.paid'],
      lookbackHours: 72,
    });
  return {
    run,
    store,
    asked,
    started,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
    failOnce: () => {
      failNext = true;
    },
  };
}

describe('replayFailedDeliveries', () => {
  it('looks back the lookback on its first run, both message types, and archives each failed form once', async () => {
    const t0 = Date.UTC(2026, 2, 6, 3, 0, 0);
    const t = replaySetup([
      { id: 'L1', flowId: 'ID_a', messageType: 'message', createTime: t0, action: 'flow.paid' },
      { id: 'L2', flowId: 'ID_b', messageType: 'flow', createTime: t0 },
      { id: 'L3', flowId: 'ID_c', messageType: 'message', createTime: t0, action: 'flow.rejected' },
    ]);

    const first = await t.run();

    expect(t.asked.map((q) => q.messageType)).toEqual(['message', 'flow']);
    expect(t.asked[0]).toEqual({ messageType: 'message', startMs: t.now() - 72 * HOUR, endMs: t.now() });
    expect(t.started.map((s) => [s.flowId, s.via])).toEqual([
      ['ID_a', 'replay'],
      ['ID_b', 'replay'],
    ]);
    expect(first).toMatchObject({ failures: 3, started: 2, ignored: 1, duplicates: 0 });
    expect(t.store.peek(REPLAY_STATE_KEY)).toMatchObject({ v: 1, watermarkMs: t.now() });
  });

  it('asks from the watermark minus an overlap next time, and an entry seen again starts nothing', async () => {
    const t0 = Date.UTC(2026, 2, 6, 3, 59, 0);
    const t = replaySetup([{ id: 'L1', flowId: 'ID_a', messageType: 'message', createTime: t0 }]);
    await t.run();
    const watermark = (t.store.peek(REPLAY_STATE_KEY) as ReplayState).watermarkMs;
    t.advance(HOUR);

    const second = await t.run();

    expect(t.asked[2]?.startMs).toBe(watermark - 5 * 60_000);
    expect(second).toMatchObject({ failures: 1, started: 0, duplicates: 1 });
    expect(t.started).toHaveLength(1);
  });

  it('leaves the watermark where it was when 合思 cannot be asked, so the next run asks for the same range', async () => {
    const t = replaySetup([]);
    await t.run();
    const before = t.store.peek(REPLAY_STATE_KEY);
    t.advance(HOUR);
    t.failOnce();

    await expect(t.run()).rejects.toThrow(/down/);

    expect(t.store.peek(REPLAY_STATE_KEY)).toEqual(before);
  });
});

const form = (o: Partial<EkuaibaoForm>): EkuaibaoForm =>
  ({ id: 'ID_a', code: 'B1', formType: 'expense', state: 'paid', updateTime: 1, ...o }) as EkuaibaoForm;

describe('walkFormArchiver', () => {
  const setup = (found: EkuaibaoForm | undefined) => {
    const jobs: Array<{ jobId: string; items: unknown[]; source: unknown }> = [];
    const archiver = walkFormArchiver({
      forms: { getFlowDetails: async () => found },
      startJob: async (input) => {
        jobs.push(input);
        return { jobId: input.jobId } as JobRecord;
      },
      keyTemplate: 'forms/{formType}/{flowCode}/{fileId}-{fileName}',
    });
    return { archiver, jobs };
  };
  const start = { flowId: 'ID_a', via: 'push' as const, eventId: 'hooks/events/ID_a/x.json' };

  it('queues the form’s attachments as one job named after the path and the form', async () => {
    const t = setup(form({ form: { attachments: [{ fileId: 'f1', key: 'k1', fileName: 'a.pdf' }] } }));

    const out = await t.archiver.startFormArchive(start);

    expect(out.outcome).toBe('queued');
    expect(out.jobId).toMatch(/^push-ID_a-[0-9a-f]{8}$/);
    expect(t.jobs[0]).toMatchObject({ source: { kind: 'hook', via: 'push', flowId: 'ID_a' } });
    expect(t.jobs[0]?.items).toHaveLength(1);
    expect((await t.archiver.startFormArchive(start)).jobId).toBe(out.jobId);
  });

  it.each([
    ['an unknown form', undefined, 'unknown_form'],
    ['a deleted form', form({ active: false }), 'nothing_to_archive'],
    ['a form without attachments', form({ form: { attachments: [] } }), 'nothing_to_archive'],
  ])('queues nothing for %s', async (_name, found, outcome) => {
    const t = setup(found);

    expect((await t.archiver.startFormArchive(start)).outcome).toBe(outcome);
    expect(t.jobs).toHaveLength(0);
  });
});

describe('requestFormArchiver', () => {
  it('writes one form-archive request for the form, with its origin, and not again for the same event', async () => {
    const store = memoryStore();
    const writes: string[] = [];
    const put = store.putJson.bind(store);
    store.putJson = async (key, value) => {
      writes.push(key);
      await put(key, value);
    };
    const archiver = requestFormArchiver({ store, now: () => Date.UTC(2026, 2, 6) });
    const start = { flowId: 'ID_a', via: 'replay' as const, eventId: 'hooks/replays/L1.json' };

    const out = await archiver.startFormArchive(start);
    const key = `manifests/form-archives/${out.jobId}.json`;
    const first = await store.getJson(key);
    const again = await archiver.startFormArchive(start);

    expect(out).toMatchObject({ outcome: 'queued', jobId: expect.stringMatching(/^replay-ID_a-/) });
    expect(first).toEqual({
      v: 1,
      jobId: out.jobId,
      requestedAt: '2026-03-06T00:00:00.000Z',
      request: { kind: 'ids', ids: ['ID_a'] },
      origin: { via: 'replay', flowId: 'ID_a' },
    });
    expect(again.jobId).toBe(out.jobId);
    // Written once: a second write would start fan-out on the same request again.
    expect(writes).toEqual([key]);
  });
});
