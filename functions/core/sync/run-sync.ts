/**
 * The scheduled sync: list the forms changed since the watermark (getApplyList, updateTime ascending, every
 * configured type, pages of 100), walk each form for attachments, and queue them as one copy job per window.
 *
 * Guarantees:
 * - The watermark moves only after a window's every page was read and its job was queued, so a failed or
 *   interrupted run is retried from the same place and nothing in the window is skipped.
 * - Windows start an overlap before the watermark; forms handled there (same id and updateTime) are remembered
 *   in the state and not queued again. Files that still repeat are cheap: the copy worker skips existing objects.
 * - Runs never overlap: the state holds a lock taken with a compare-and-set; a run that finds a live lock
 *   returns `skipped_locked`. Locks expire, so a crashed run blocks the schedule for at most the lock's TTL.
 * - A first run backfills from the configured start date in windows, stopping before the invocation's time runs
 *   out; the next invocation continues from the watermark (which is the backfill cursor).
 *
 * One job per window: a window is the unit that is either fully queued and committed or not at all, and a job
 * per window keeps job records bounded during a long backfill. In packages mode (the default) the window's forms
 * stream into a package job (startPackageJob, core/packages via the composition root) as they are listed; in
 * files mode each form's attachments are found by walking its JSON and queued as refs.
 */
import { randomUUID } from 'node:crypto';
import { AppError, ValidationError } from '../errors.js';
import type { EkuaibaoForm } from '../model/forms.js';
import type { JobSource } from '../model/job.js';
import type { CopyRef } from '../model/refs.js';
import { type FormsSource, type Logger, silentLogger, type VersionedStore } from '../ports.js';
import { defaultSleep, type Sleep } from '../util/backoff.js';
import { formatChinaTime, parseStartDate } from './china-time.js';
import { acquireLock, type Instant, LockedState, SyncLockLostError, type SyncState } from './state.js';
import { type ResolvedSyncOptions, resolveSyncOptions, type SyncOptions } from './sync-options.js';
import {
  type ListWindowInput,
  listSyncWindow,
  newWindowTally,
  type RunMemory,
  type WindowTally,
  windowForms,
} from './sync-window.js';
import { MIN_WINDOW_MS, nextWindow, pruneEdge, type SyncWindow } from './windows.js';

/** What the sync hands to job creation (functions/core/jobs/create-job.ts, bound to its queue and store). */
export interface SyncJobInput {
  jobId: string;
  source: Extract<JobSource, { kind: 'schedule' }>;
  items: CopyRef[];
  keyTemplate: string;
}

/** What the sync hands to a package job in packages mode: the window's forms, streamed as they are listed. */
export interface PackageSyncJobInput {
  jobId: string;
  source: Extract<JobSource, { kind: 'schedule' }>;
  forms: AsyncIterable<EkuaibaoForm>;
}

/** What a window's package job did: its id (none when it had nothing to record), refs queued, and its forms. */
export interface PackageSyncJobOutcome {
  jobId: string | undefined;
  refs: number;
  queued: number;
  held: number;
  unchanged: number;
}

export interface SyncDeps {
  forms: Pick<FormsSource, 'getApplyList'>;
  /** Compare-and-set storage for the state and lock (S3 conditional writes in AWS). */
  state: VersionedStore;
  /** Files mode: queues the refs as a job and resolves once every batch is on the queue. */
  startJob(input: SyncJobInput): Promise<{ jobId: string }>;
  /** Packages mode: plans and queues the window's forms as form packages. */
  startPackageJob?(input: PackageSyncJobInput): Promise<PackageSyncJobOutcome>;
  now?: () => number;
  sleep?: Sleep;
  logger?: Logger;
  newRunId?: () => string;
  newJobId?: (window: { startMs: number; endMs: number }) => string;
}

export type SyncStatus = 'done' | 'partial' | 'skipped_locked' | 'nothing_to_do';

export interface SyncSummary {
  status: SyncStatus;
  runId: string;
  /** Windows fully listed, queued and committed by this run. */
  windows: number;
  /** getApplyList pages read (including those of a window abandoned at the deadline). */
  pages: number;
  /** Distinct forms handled in committed windows (deleted and attachment-less ones included). */
  forms: number;
  formsDeleted: number;
  formsWithoutAttachments: number;
  /** Forms listed again in the overlap (same id and updateTime) and not queued again. */
  formsAlreadySeen: number;
  /** Refs queued (packages mode: files and package parts). */
  refs: number;
  /** Packages mode: packages queued, forms recorded and not sealed, forms whose version is archived already. */
  packages: number;
  formsHeld: number;
  formsUnchanged: number;
  /** Refs left out because the same file was already queued for the same target in this run. */
  duplicates: number;
  /** Attachment-like objects with an empty fileId or key (logged with the form id). */
  invalidAttachments: number;
  /** Listed items without an id (nothing to archive them by; logged). */
  formsInvalid: number;
  jobIds: string[];
  watermark?: Instant;
  /** Why a partial run stopped. */
  stoppedBecause?: 'time' | 'aborted';
  /** For skipped_locked: who holds the lock and until when. */
  lockedBy?: { runId: string; expiresAt: string };
}

const instant = (epochMs: number): Instant => ({ iso: new Date(epochMs).toISOString(), epochMs });

function defaultJobId(window: { startMs: number; endMs: number }): string {
  const stamp = new Date(window.endMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `sync-${stamp}-${randomUUID().slice(0, 8)}`;
}

/** What every step of one run shares. */
interface Run {
  opts: ResolvedSyncOptions;
  options: SyncOptions;
  deps: SyncDeps;
  now: () => number;
  sleep: Sleep;
  runId: string;
  log: Logger;
  summary: SyncSummary;
  held: LockedState;
  startedAt: string;
  startMs: number | undefined;
}

function emptySummary(runId: string): SyncSummary {
  return {
    status: 'done',
    runId,
    windows: 0,
    pages: 0,
    forms: 0,
    formsDeleted: 0,
    formsWithoutAttachments: 0,
    formsAlreadySeen: 0,
    refs: 0,
    packages: 0,
    formsHeld: 0,
    formsUnchanged: 0,
    duplicates: 0,
    invalidAttachments: 0,
    formsInvalid: 0,
    jobIds: [],
  };
}

export async function runSync(options: SyncOptions, deps: SyncDeps): Promise<SyncSummary> {
  const opts = resolveSyncOptions(options);
  const now = deps.now ?? Date.now;
  const runId = deps.newRunId?.() ?? randomUUID();
  const log = (deps.logger ?? silentLogger).child({ component: 'sync', runId });
  const summary = emptySummary(runId);
  // A first run with no start date is a configuration error: say so before touching the lock.
  const startMs = opts.startDate === undefined ? undefined : parseStartDate(opts.startDate, 'syncStartDate');
  if (opts.mode === 'packages' && !deps.startPackageJob) {
    throw new ValidationError(
      'the sync is in packages mode but has no package job starter (set EKB_SYNC_MODE=files)',
    );
  }

  const acquired = await acquireLock(deps.state, opts.stateKey, runId, now, opts.lockTtlMs);
  if (acquired.kind === 'locked') {
    log.info('another sync run holds the lock; exiting', {
      lockedBy: acquired.lock.runId,
      expiresAt: acquired.lock.expiresAt,
    });
    return {
      ...summary,
      status: 'skipped_locked',
      lockedBy: { runId: acquired.lock.runId, expiresAt: acquired.lock.expiresAt },
    };
  }
  const held = new LockedState(
    deps.state,
    opts.stateKey,
    runId,
    now,
    opts.lockTtlMs,
    acquired.state,
    acquired.etag,
  );
  const run: Run = {
    opts,
    options,
    deps,
    now,
    sleep: deps.sleep ?? defaultSleep,
    runId,
    log,
    summary,
    held,
    startedAt: new Date(now()).toISOString(),
    startMs,
  };
  try {
    const windowMs = await runWindows(run);
    if (summary.status === 'done' && summary.forms === 0 && summary.refs === 0)
      summary.status = 'nothing_to_do';
    await held.release((s) => ({ ...s, windowMs, lastRun: lastRun(run) }));
    log.info('sync run finished', { ...summary, jobIds: summary.jobIds.length });
    return summary;
  } catch (err) {
    await releaseAfterFailure(run, err);
    throw err;
  }
}

function lastRun(run: Run): NonNullable<SyncState['lastRun']> {
  const { summary } = run;
  return {
    runId: run.runId,
    startedAt: run.startedAt,
    finishedAt: new Date(run.now()).toISOString(),
    status: summary.status,
    windows: summary.windows,
    forms: summary.forms,
    refs: summary.refs,
    jobIds: summary.jobIds,
  };
}

/** Tries to release the lock after a failure; a store hiccup gets two more tries before the lock is left to expire. */
const RELEASE_TRIES = 3;
const RELEASE_RETRY_MS = 500;

async function releaseAfterFailure(run: Run, err: unknown): Promise<void> {
  const code = err instanceof AppError ? err.code : 'internal';
  const message = err instanceof AppError ? err.message : 'unexpected error (see the logs)';
  run.log.error('sync run failed; the watermark stays where the last committed window left it', {
    code,
    error: err instanceof Error ? err.message : String(err),
  });
  const lastError = { runId: run.runId, at: new Date(run.now()).toISOString(), code, message };
  for (let attempt = 1; ; attempt += 1) {
    try {
      await run.held.release((s) => ({ ...s, lastError }));
      run.log.info('sync lock released after the failure', { code });
      return;
    } catch (releaseErr) {
      // A lost lock is another run's now: nothing to release. Anything else may pass; then the lock expires.
      const lost = releaseErr instanceof SyncLockLostError;
      if (lost || attempt >= RELEASE_TRIES) {
        run.log.error(
          lost
            ? 'sync lock already taken over by another run'
            : 'could not release the sync lock; it expires on its own',
          {
            expiresAt: run.held.state.lock?.expiresAt,
            error: releaseErr instanceof Error ? releaseErr.message : String(releaseErr),
          },
        );
        return;
      }
      await run.sleep(RELEASE_RETRY_MS);
    }
  }
}

/** Lists, queues and commits windows until caught up, out of time or aborted; returns the window length to keep. */
async function runWindows(run: Run): Promise<number> {
  const { opts, summary, held, now, log } = run;
  let state = held.state;
  if (state.watermark) summary.watermark = state.watermark;
  if (state.watermark === undefined && run.startMs === undefined) {
    throw new ValidationError(
      'syncStartDate (EKB_SYNC_START_DATE) is required for the first sync run: there is no watermark yet to continue from',
    );
  }
  // The run aims at "now" as it was when it started: chasing a moving now would add a sliver of a window
  // after every window; the next scheduled run picks up what changed meanwhile.
  const targetMs = now();
  let windowMs = Math.min(state.windowMs ?? opts.windowMs, opts.windowMs);
  // Refs and forms already handled by this run (across its windows), and the edge the state remembers.
  const seen: RunMemory = { forms: new Set(state.edge.map(([id, t]) => `${id}\u0000${t}`)), refs: new Set() };
  let longestWindowMs = 0;

  for (;;) {
    const window = nextWindow({
      positionMs: state.watermark?.epochMs ?? (run.startMs as number),
      fromWatermark: state.watermark !== undefined,
      overlapMs: opts.overlapMs,
      windowMs,
      nowMs: targetMs,
    });
    if (!window) break;
    if (shouldStop(run, longestWindowMs, state)) break;

    const began = now();
    const outcome = await queueWindow(run, window, seen);
    if (outcome === 'abandoned') {
      // The window did not fit: the next invocation retries it, with a smaller window so that it does.
      windowMs = Math.max(MIN_WINDOW_MS, Math.floor(windowMs / 2));
      summary.status = 'partial';
      summary.stoppedBecause = 'aborted';
      log.warn('window abandoned at the deadline; it will be retried', {
        startDate: formatChinaTime(window.startMs),
        endDate: formatChinaTime(window.endMs),
        nextWindowMs: windowMs,
      });
      break;
    }
    const committedWindowMs = windowMs;
    windowMs = Math.min(opts.windowMs, windowMs * 2);
    const { tally, jobId } = outcome;
    await held.commit((s) =>
      commitWindow(
        s,
        { window, handled: tally.handled, jobId, windowMs, startedAt: run.startedAt, startMs: run.startMs },
        opts,
      ),
    );
    state = held.state;
    for (const k of tally.formKeys) seen.forms.add(k);
    for (const k of tally.refKeys) seen.refs.add(k);
    addToSummary(summary, tally, jobId);
    summary.watermark = state.watermark;
    longestWindowMs = Math.max(longestWindowMs, now() - began);
    log.info('sync window queued', {
      startDate: formatChinaTime(window.startMs),
      endDate: formatChinaTime(window.endMs),
      windowMs: committedWindowMs,
      pages: tally.pages,
      forms: tally.forms,
      refs: tally.refs.length + tally.packageRefs,
      jobId,
    });
  }
  return windowMs;
}

/** True (and the summary says why) when no further window should start. */
function shouldStop(run: Run, longestWindowMs: number, state: SyncState): boolean {
  const { summary } = run;
  if (run.options.signal?.aborted) {
    summary.status = 'partial';
    summary.stoppedBecause = 'aborted';
    return true;
  }
  const remaining = run.options.remainingMs?.();
  // A window like the longest one so far must fit, with the reserve to spare.
  if (remaining !== undefined && remaining < Math.max(run.opts.windowReserveMs, longestWindowMs * 1.5)) {
    summary.status = 'partial';
    summary.stoppedBecause = 'time';
    run.log.info('stopping before the invocation deadline; the next run continues', {
      remainingMs: remaining,
      watermark: state.watermark?.iso,
    });
    return true;
  }
  return false;
}

/** Lists the window and queues it as one job; 'abandoned' when the deadline signal cut it short. */
async function queueWindow(
  run: Run,
  window: SyncWindow,
  seen: RunMemory,
): Promise<{ tally: WindowTally; jobId: string | undefined } | 'abandoned'> {
  const signal = run.options.signal;
  const tally = newWindowTally();
  const listing: ListWindowInput = {
    forms: run.deps.forms,
    opts: run.opts,
    startDate: formatChinaTime(window.startMs),
    endDate: formatChinaTime(window.endMs),
    seen,
    sleep: run.sleep,
    signal,
    log: run.log,
    tally,
  };
  const newJobId = (): string => (run.deps.newJobId ?? defaultJobId)(window);
  const source = {
    kind: 'schedule' as const,
    windowStart: new Date(window.startMs).toISOString(),
    windowEnd: new Date(window.endMs).toISOString(),
  };
  try {
    if (run.opts.mode === 'packages' && run.deps.startPackageJob) {
      const out = await run.deps.startPackageJob({ jobId: newJobId(), source, forms: windowForms(listing) });
      tally.packageRefs = out.refs;
      tally.packagesQueued = out.queued;
      tally.formsHeld = out.held;
      tally.formsUnchanged = out.unchanged;
      return { tally, jobId: out.jobId };
    }
    await listSyncWindow(listing);
    if (tally.refs.length === 0) return { tally, jobId: undefined };
    const started = await run.deps.startJob({
      jobId: newJobId(),
      source,
      items: tally.refs,
      keyTemplate: run.opts.keyTemplate,
    });
    return { tally, jobId: started.jobId };
  } catch (err) {
    run.summary.pages += tally.pages;
    if (signal?.aborted) return 'abandoned';
    throw err;
  }
}

function addToSummary(summary: SyncSummary, tally: WindowTally, jobId: string | undefined): void {
  summary.windows += 1;
  summary.pages += tally.pages;
  summary.forms += tally.forms;
  summary.formsDeleted += tally.formsDeleted;
  summary.formsWithoutAttachments += tally.formsWithoutAttachments;
  summary.formsAlreadySeen += tally.formsAlreadySeen;
  summary.duplicates += tally.duplicates;
  summary.invalidAttachments += tally.invalidAttachments;
  summary.formsInvalid += tally.formsInvalid;
  summary.refs += tally.refs.length + tally.packageRefs;
  summary.packages += tally.packagesQueued;
  summary.formsHeld += tally.formsHeld;
  summary.formsUnchanged += tally.formsUnchanged;
  if (jobId !== undefined) summary.jobIds.push(jobId);
}

interface WindowCommit {
  window: SyncWindow;
  /** [id, updateTime] of every form handled in the window. */
  handled: Array<[string, number]>;
  jobId: string | undefined;
  windowMs: number;
  startedAt: string;
  startMs: number | undefined;
}

/** The state after a window was fully listed and queued: the watermark moves to the window's end. */
function commitWindow(s: SyncState, c: WindowCommit, opts: ResolvedSyncOptions): SyncState {
  const { window } = c;
  const next: SyncState = {
    ...s,
    watermark: instant(window.endMs),
    edge: pruneEdge([...s.edge, ...c.handled], window.endMs, opts.overlapMs),
    windowMs: c.windowMs,
  };
  if (c.jobId !== undefined) next.lastJobId = c.jobId;
  if (s.watermark === undefined && c.startMs !== undefined) {
    next.backfill = { startDate: new Date(c.startMs).toISOString(), startedAt: c.startedAt };
  }
  if (next.backfill && next.backfill.finishedAt === undefined && window.reachesNow) {
    next.backfill = { ...next.backfill, finishedAt: new Date(window.endMs).toISOString() };
  }
  return next;
}
