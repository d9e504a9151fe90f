/**
 * The sync's memory between runs: one JSON object in the bucket (default `sync/state.json`), written only with a
 * compare-and-set so that two runs can never both believe they hold the lock or both move the watermark.
 *
 * Why a separate port instead of ReportStore: ReportStore has no versions. Real S3 has conditional writes
 * (PutObject If-None-Match: * / If-Match: <etag>), which is all a lock needs (so does the local stack's embedded
 * S3); unit tests and stores without them use the one-process implementations in ./versioned-store.ts.
 */
import { AppError } from '../errors.js';
import type { VersionedStore } from '../ports.js';

export const SYNC_STATE_VERSION = 1;
export const DEFAULT_SYNC_STATE_KEY = 'sync/state.json';

export interface Instant {
  iso: string;
  epochMs: number;
}

export interface SyncLock {
  runId: string;
  acquiredAt: string;
  expiresAt: string;
  expiresAtMs: number;
}

export interface SyncRunRecord {
  runId: string;
  startedAt: string;
  finishedAt: string;
  status: string;
  windows: number;
  forms: number;
  refs: number;
  jobIds: string[];
}

export interface SyncState {
  v: typeof SYNC_STATE_VERSION;
  /**
   * Every form updated at or before this instant has been listed and its refs queued. It is also the backfill
   * cursor: a backfill moves it window by window, and the next invocation goes on from it.
   */
  watermark?: Instant;
  /**
   * Forms already handled whose updateTime falls in the overlap the next window re-reads, as [id, updateTime]:
   * the next run skips them instead of queuing them again.
   */
  edge: Array<[string, number]>;
  /** Set by the first run (no watermark yet); finishedAt once the windows have caught up with "now". */
  backfill?: { startDate: string; startedAt: string; finishedAt?: string };
  /** Current window length; halved when a window did not fit in one invocation, grown back after successes. */
  windowMs?: number;
  lastJobId?: string;
  lastRun?: SyncRunRecord;
  lastError?: { runId: string; at: string; code: string; message: string };
  lock?: SyncLock;
}

export function emptyState(): SyncState {
  return { v: SYNC_STATE_VERSION, edge: [] };
}

/** Another run wrote the state while we held the lock: our lock expired and was taken over. */
export class SyncLockLostError extends AppError {
  constructor(runId: string) {
    super('sync_lock_lost', `sync run ${runId} lost its lock (it ran past the lock's expiry)`, {
      retryable: true,
      status: 503,
    });
  }
}

export type AcquireResult =
  | { kind: 'acquired'; state: SyncState; etag: string }
  | { kind: 'locked'; lock: SyncLock };

export function isLockLive(lock: SyncLock | undefined, nowMs: number): lock is SyncLock {
  return lock !== undefined && lock.expiresAtMs > nowMs;
}

function readState(raw: unknown): SyncState {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AppError('sync_state_invalid', 'sync state object is not a JSON object', { retryable: false });
  }
  const s = raw as Partial<SyncState>;
  if (s.v !== SYNC_STATE_VERSION) {
    throw new AppError('sync_state_invalid', `sync state has unknown version ${JSON.stringify(s.v)}`, {
      retryable: false,
    });
  }
  return { ...s, v: SYNC_STATE_VERSION, edge: Array.isArray(s.edge) ? s.edge : [] };
}

/** A lock outlives the run that holds it by design; `ttlMs` must exceed the longest run (Lambda: 15 min). */
function makeLock(runId: string, nowMs: number, ttlMs: number): SyncLock {
  return {
    runId,
    acquiredAt: new Date(nowMs).toISOString(),
    expiresAt: new Date(nowMs + ttlMs).toISOString(),
    expiresAtMs: nowMs + ttlMs,
  };
}

/**
 * Takes the lock unless another run holds a live one. A lost race re-reads and tries again (bounded): the
 * winner's lock then shows as live and we report `locked`.
 */
export async function acquireLock(
  store: VersionedStore,
  key: string,
  runId: string,
  now: () => number,
  ttlMs: number,
): Promise<AcquireResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await store.get<unknown>(key);
    const state = current ? readState(current.value) : emptyState();
    const nowMs = now();
    if (isLockLive(state.lock, nowMs) && state.lock.runId !== runId)
      return { kind: 'locked', lock: state.lock };
    const next: SyncState = { ...state, lock: makeLock(runId, nowMs, ttlMs) };
    const etag = await store.putIfMatch(key, next, current ? current.etag : null);
    if (etag !== undefined) return { kind: 'acquired', state: next, etag };
  }
  const latest = await store.get<unknown>(key);
  const lock = latest ? readState(latest.value).lock : undefined;
  if (lock) return { kind: 'locked', lock };
  throw new AppError('sync_state_contended', 'could not take the sync lock: the state kept changing', {
    retryable: true,
    status: 503,
  });
}

/** Holds the lock's etag and writes the state only as the lock's owner; every write renews the lock. */
export class LockedState {
  constructor(
    private readonly store: VersionedStore,
    private readonly key: string,
    private readonly runId: string,
    private readonly now: () => number,
    private readonly ttlMs: number,
    private current: SyncState,
    private etag: string,
  ) {}

  get state(): SyncState {
    return this.current;
  }

  async commit(update: (state: SyncState) => SyncState): Promise<void> {
    const next = { ...update(this.current), lock: makeLock(this.runId, this.now(), this.ttlMs) };
    const etag = await this.store.putIfMatch(this.key, next, this.etag);
    if (etag === undefined) throw new SyncLockLostError(this.runId);
    this.current = next;
    this.etag = etag;
  }

  /** Writes the final state without the lock. */
  async release(update: (state: SyncState) => SyncState = (s) => s): Promise<void> {
    const { lock: _lock, ...rest } = update(this.current);
    const next: SyncState = rest;
    const etag = await this.store.putIfMatch(this.key, next, this.etag);
    if (etag === undefined) throw new SyncLockLostError(this.runId);
    this.current = next;
    this.etag = etag;
  }
}
