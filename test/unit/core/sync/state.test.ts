import { describe, expect, it } from 'vitest';
import type { ReportStore, VersionedStore } from '../../../../functions/core/ports.js';
import {
  acquireLock,
  LockedState,
  SyncLockLostError,
  type SyncState,
} from '../../../../functions/core/sync/state.js';
import {
  createMemoryVersionedStore,
  createReportStoreVersionedStore,
} from '../../../../functions/core/sync/versioned-store.js';

/** A ReportStore over a Map whose reads and writes yield to the event loop, as a real bucket's would. */
function slowReportStore(): ReportStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  const tick = () => new Promise((r) => setTimeout(r, 1));
  return {
    data,
    async putJson(key, value) {
      await tick();
      data.set(key, JSON.stringify(value));
    },
    async getJson<T>(key: string) {
      await tick();
      const text = data.get(key);
      return text === undefined ? undefined : (JSON.parse(text) as T);
    },
    async list(prefix) {
      return [...data.keys()].filter((k) => k.startsWith(prefix));
    },
  };
}

const stores: Array<[string, () => VersionedStore]> = [
  ['memory', () => createMemoryVersionedStore()],
  ['report-store backed', () => createReportStoreVersionedStore(slowReportStore())],
];

describe.each(stores)('%s VersionedStore', (_name, make) => {
  it('creates only when nothing is stored, and replaces only the version named', async () => {
    const store = make();
    const first = await store.putIfMatch('k', { n: 1 }, null);
    expect(first).toBeTypeOf('string');
    expect(await store.putIfMatch('k', { n: 9 }, null)).toBeUndefined();
    const second = await store.putIfMatch('k', { n: 2 }, first!);
    expect(second).toBeTypeOf('string');
    expect(await store.putIfMatch('k', { n: 3 }, first!)).toBeUndefined();
    expect(await store.get('k')).toEqual({ value: { n: 2 }, etag: second });
  });

  it('lets exactly one of several concurrent writers of the same version win', async () => {
    const store = make();
    const base = await store.putIfMatch('k', { n: 0 }, null);
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => store.putIfMatch('k', { n }, base!)));
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it('answers undefined for a key never written', async () => {
    expect(await make().get('missing')).toBeUndefined();
  });
});

describe('acquireLock', () => {
  const TTL = 16 * 60_000;

  it('takes the lock on an empty store and records who holds it until when', async () => {
    const store = createMemoryVersionedStore();
    const got = await acquireLock(store, 's', 'run-1', () => 1_000, TTL);
    expect(got.kind).toBe('acquired');
    expect((store.peek('s') as SyncState).lock).toMatchObject({ runId: 'run-1', expiresAtMs: 1_000 + TTL });
  });

  it('reports a live lock held by another run without writing', async () => {
    const store = createMemoryVersionedStore();
    await acquireLock(store, 's', 'run-1', () => 1_000, TTL);
    const got = await acquireLock(store, 's', 'run-2', () => 1_000 + TTL - 1, TTL);
    expect(got).toMatchObject({ kind: 'locked', lock: { runId: 'run-1' } });
    expect((store.peek('s') as SyncState).lock?.runId).toBe('run-1');
  });

  it('takes over a lock that has expired (a crashed run)', async () => {
    const store = createMemoryVersionedStore();
    await acquireLock(store, 's', 'run-1', () => 1_000, TTL);
    const got = await acquireLock(store, 's', 'run-2', () => 1_000 + TTL, TTL);
    expect(got.kind).toBe('acquired');
    expect((store.peek('s') as SyncState).lock?.runId).toBe('run-2');
  });

  it('gives the lock to one of two runs racing for it', async () => {
    const store = createReportStoreVersionedStore(slowReportStore());
    const [a, b] = await Promise.all([
      acquireLock(store, 's', 'run-a', () => 1_000, TTL),
      acquireLock(store, 's', 'run-b', () => 1_000, TTL),
    ]);
    expect([a.kind, b.kind].sort()).toEqual(['acquired', 'locked']);
  });

  it('refuses a state object of an unknown version', async () => {
    const store = createMemoryVersionedStore();
    await store.putIfMatch('s', { v: 99 }, null);
    await expect(acquireLock(store, 's', 'run-1', () => 1, TTL)).rejects.toMatchObject({
      code: 'sync_state_invalid',
    });
  });
});

describe('LockedState', () => {
  it('renews the lock on every commit and drops it on release', async () => {
    const store = createMemoryVersionedStore();
    let now = 1_000;
    const got = await acquireLock(store, 's', 'run-1', () => now, 60_000);
    if (got.kind !== 'acquired') throw new Error('expected the lock');
    const held = new LockedState(store, 's', 'run-1', () => now, 60_000, got.state, got.etag);
    now = 50_000;
    await held.commit((s) => ({ ...s, lastJobId: 'j1' }));
    expect((store.peek('s') as SyncState).lock?.expiresAtMs).toBe(110_000);
    await held.release();
    expect(store.peek('s')).toMatchObject({ lastJobId: 'j1' });
    expect((store.peek('s') as SyncState).lock).toBeUndefined();
  });

  it('fails with sync_lock_lost when another run wrote the state meanwhile', async () => {
    const store = createMemoryVersionedStore();
    const got = await acquireLock(store, 's', 'run-1', () => 0, 1);
    if (got.kind !== 'acquired') throw new Error('expected the lock');
    const held = new LockedState(store, 's', 'run-1', () => 0, 1, got.state, got.etag);
    await acquireLock(store, 's', 'run-2', () => 10, 60_000);
    await expect(held.commit((s) => s)).rejects.toBeInstanceOf(SyncLockLostError);
  });
});
