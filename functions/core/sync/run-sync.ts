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
 * per window keeps job records bounded during a long backfill.
 */
import { randomUUID } from 'node:crypto';
import { AppError, ValidationError } from '../errors.js';
import { type EkuaibaoForm, FORM_TYPES, type FormType, MAX_APPLY_LIST_COUNT } from '../model/forms.js';
import type { JobSource } from '../model/job.js';
import type { CopyRef } from '../model/refs.js';
import { type FormsSource, type Logger, silentLogger, type VersionedStore } from '../ports.js';
import { abortableSleep, defaultSleep, type Sleep } from '../util/backoff.js';
import { formatChinaTime, parseStartDate } from './china-time.js';
import { acquireLock, DEFAULT_SYNC_STATE_KEY, type Instant, LockedState, type SyncState } from './state.js';
import { findFormAttachments, isDeletedForm } from './walk-form.js';
import { DEFAULT_WINDOW_MS, MIN_WINDOW_MS, nextWindow, pruneEdge, type SyncWindow } from './windows.js';

export const DEFAULT_SYNC_KEY_TEMPLATE = 'forms/{formType}/{flowCode}/{fileId}-{fileName}';
export const DEFAULT_OVERLAP_MINUTES = 10;
/** Integrations pause about 200 ms between pages; no rate limit is documented, so be polite. */
export const DEFAULT_PAGE_PAUSE_MS = 200;
/** Longer than a Lambda can run (15 min), so a live run never loses its lock; a crashed one frees it soon after. */
export const DEFAULT_LOCK_TTL_MS = 16 * 60_000;
/** Do not start a window with less time than this left: listing a busy day and queuing its refs takes a while. */
export const DEFAULT_WINDOW_RESERVE_MS = 2 * 60_000;
/** Offset paging can shift under us; a window whose listing keeps shifting this often is retried later. */
const MAX_BACKUPS_PER_LISTING = 50;

export interface SyncOptions {
  /** Form types to list (config.syncFormTypes); default every type. */
  formTypes?: readonly string[];
  /** Minutes re-read before the watermark (config.syncOverlapMinutes, default 10). */
  overlapMinutes?: number;
  /** Backfill start for the first run (config.syncStartDate): required when the state has no watermark. */
  startDate?: string;
  /** Object key template for the jobs (config.syncObjectKeyTemplate). */
  keyTemplate?: string;
  /** Longest window, ms (default 1 day). */
  windowMs?: number;
  /** getApplyList page size, 1..100 (default 100). */
  pageSize?: number;
  /** Pause between pages, ms (default 200). */
  pagePauseMs?: number;
  /** Where the state lives in the bucket (default sync/state.json). */
  stateKey?: string;
  lockTtlMs?: number;
  /** Stop starting windows when remainingMs() drops below this (default 2 min). */
  windowReserveMs?: number;
  /** Also queue the attachments of deleted forms (default false: they are counted only). */
  includeDeletedForms?: boolean;
  /** Time left in this invocation (Lambda: context.getRemainingTimeInMillis). Omitted: no limit. */
  remainingMs?: () => number;
  /** Fires shortly before the invocation's deadline: the window in progress is abandoned, not committed. */
  signal?: AbortSignal;
}

/** What the sync hands to job creation (functions/core/jobs/create-job.ts, bound to its queue and store). */
export interface SyncJobInput {
  jobId: string;
  source: Extract<JobSource, { kind: 'schedule' }>;
  items: CopyRef[];
  keyTemplate: string;
}

export interface SyncDeps {
  forms: Pick<FormsSource, 'getApplyList'>;
  /** Compare-and-set storage for the state and lock (S3 conditional writes in AWS). */
  state: VersionedStore;
  /** Queues the refs as a job and resolves once every batch is on the queue. */
  startJob(input: SyncJobInput): Promise<{ jobId: string }>;
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
  /** Refs queued. */
  refs: number;
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

interface Resolved {
  formTypes: FormType[];
  overlapMs: number;
  startDate: string | undefined;
  keyTemplate: string;
  windowMs: number;
  pageSize: number;
  pagePauseMs: number;
  stateKey: string;
  lockTtlMs: number;
  windowReserveMs: number;
  includeDeletedForms: boolean;
}

function nonNegativeInt(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(
      `sync option ${name} must be an integer ≥ ${min} (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

function resolveOptions(o: SyncOptions): Resolved {
  const types = o.formTypes ?? FORM_TYPES;
  if (types.length === 0) throw new ValidationError('sync option formTypes must name at least one form type');
  const unknown = types.filter((t) => !(FORM_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) {
    throw new ValidationError(
      `sync option formTypes has unknown type(s) ${unknown.map((t) => JSON.stringify(t)).join(', ')} (known: ${FORM_TYPES.join(', ')})`,
    );
  }
  const pageSize = nonNegativeInt('pageSize', o.pageSize, MAX_APPLY_LIST_COUNT, 1);
  if (pageSize > MAX_APPLY_LIST_COUNT) {
    throw new ValidationError(
      `sync option pageSize must be at most ${MAX_APPLY_LIST_COUNT} (got ${pageSize})`,
    );
  }
  const keyTemplate = o.keyTemplate ?? DEFAULT_SYNC_KEY_TEMPLATE;
  if (typeof keyTemplate !== 'string' || keyTemplate.trim() === '') {
    throw new ValidationError('sync option keyTemplate must be a non-empty template');
  }
  return {
    formTypes: [...new Set(types)] as FormType[],
    overlapMs: nonNegativeInt('overlapMinutes', o.overlapMinutes, DEFAULT_OVERLAP_MINUTES) * 60_000,
    startDate: o.startDate,
    keyTemplate,
    windowMs: nonNegativeInt('windowMs', o.windowMs, DEFAULT_WINDOW_MS, MIN_WINDOW_MS),
    pageSize,
    pagePauseMs: nonNegativeInt('pagePauseMs', o.pagePauseMs, DEFAULT_PAGE_PAUSE_MS),
    stateKey: o.stateKey ?? DEFAULT_SYNC_STATE_KEY,
    lockTtlMs: nonNegativeInt('lockTtlMs', o.lockTtlMs, DEFAULT_LOCK_TTL_MS, 1),
    windowReserveMs: nonNegativeInt('windowReserveMs', o.windowReserveMs, DEFAULT_WINDOW_RESERVE_MS),
    includeDeletedForms: o.includeDeletedForms ?? false,
  };
}

const instant = (epochMs: number): Instant => ({ iso: new Date(epochMs).toISOString(), epochMs });

/** Template placeholders that make each form's copy of a file its own object. */
const FORM_PLACEHOLDERS = /\{(flowCode|flowId|formType)\}/;

function defaultJobId(window: { startMs: number; endMs: number }): string {
  const stamp = new Date(window.endMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `sync-${stamp}-${randomUUID().slice(0, 8)}`;
}

/** Counters for one window; merged into the summary only when the window commits. */
interface WindowTally {
  pages: number;
  forms: number;
  formsDeleted: number;
  formsWithoutAttachments: number;
  formsAlreadySeen: number;
  duplicates: number;
  invalidAttachments: number;
  formsInvalid: number;
  refs: CopyRef[];
  handled: Array<[string, number]>;
  formKeys: string[];
  refKeys: string[];
}

export async function runSync(options: SyncOptions, deps: SyncDeps): Promise<SyncSummary> {
  const opts = resolveOptions(options);
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const runId = deps.newRunId?.() ?? randomUUID();
  const newJobId = deps.newJobId ?? defaultJobId;
  const log = (deps.logger ?? silentLogger).child({ component: 'sync', runId });
  const signal = options.signal;
  const perForm = FORM_PLACEHOLDERS.test(opts.keyTemplate);

  const summary: SyncSummary = {
    status: 'done',
    runId,
    windows: 0,
    pages: 0,
    forms: 0,
    formsDeleted: 0,
    formsWithoutAttachments: 0,
    formsAlreadySeen: 0,
    refs: 0,
    duplicates: 0,
    invalidAttachments: 0,
    formsInvalid: 0,
    jobIds: [],
  };

  // A first run with no start date is a configuration error: say so before touching the lock.
  const startMs = opts.startDate === undefined ? undefined : parseStartDate(opts.startDate, 'syncStartDate');

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
  const startedAt = new Date(now()).toISOString();

  try {
    let state = held.state;
    if (state.watermark) summary.watermark = state.watermark;
    if (state.watermark === undefined && startMs === undefined) {
      throw new ValidationError(
        'syncStartDate (EKB_SYNC_START_DATE) is required for the first sync run: there is no watermark yet to continue from',
      );
    }
    // The run aims at "now" as it was when it started: chasing a moving now would add a sliver of a window
    // after every window; the next scheduled run picks up what changed meanwhile.
    const targetMs = now();
    let windowMs = Math.min(state.windowMs ?? opts.windowMs, opts.windowMs);
    // Refs and forms already handled by this run (across its windows), and the edge the state remembers.
    const seenForms = new Set<string>(state.edge.map(([id, t]) => `${id}\u0000${t}`));
    const seenRefs = new Set<string>();
    let longestWindowMs = 0;

    for (;;) {
      const fromWatermark = state.watermark !== undefined;
      const positionMs = state.watermark?.epochMs ?? (startMs as number);
      const window = nextWindow({
        positionMs,
        fromWatermark,
        overlapMs: opts.overlapMs,
        windowMs,
        nowMs: targetMs,
      });
      if (!window) break;
      if (signal?.aborted) {
        summary.status = 'partial';
        summary.stoppedBecause = 'aborted';
        break;
      }
      const remaining = options.remainingMs?.();
      // A window like the longest one so far must fit, with the reserve to spare.
      if (remaining !== undefined && remaining < Math.max(opts.windowReserveMs, longestWindowMs * 1.5)) {
        summary.status = 'partial';
        summary.stoppedBecause = 'time';
        log.info('stopping before the invocation deadline; the next run continues', {
          remainingMs: remaining,
          watermark: state.watermark?.iso,
        });
        break;
      }

      const began = now();
      const tally: WindowTally = {
        pages: 0,
        forms: 0,
        formsDeleted: 0,
        formsWithoutAttachments: 0,
        formsAlreadySeen: 0,
        duplicates: 0,
        invalidAttachments: 0,
        formsInvalid: 0,
        refs: [],
        handled: [],
        formKeys: [],
        refKeys: [],
      };
      const windowSeenForms = new Set<string>();
      const windowSeenRefs = new Set<string>();
      const onForm = (form: EkuaibaoForm): void => {
        if (typeof form?.id !== 'string' || form.id === '') {
          tally.formsInvalid += 1;
          log.warn('getApplyList returned a form without an id; skipped', { formType: form?.formType });
          return;
        }
        const updateTime = typeof form.updateTime === 'number' ? form.updateTime : undefined;
        const formKey = `${form.id}\u0000${updateTime ?? ''}`;
        if (updateTime !== undefined && (seenForms.has(formKey) || windowSeenForms.has(formKey))) {
          tally.formsAlreadySeen += 1;
          return;
        }
        windowSeenForms.add(formKey);
        tally.formKeys.push(formKey);
        tally.forms += 1;
        if (updateTime !== undefined) tally.handled.push([form.id, updateTime]);
        const deleted = isDeletedForm(form);
        if (deleted) tally.formsDeleted += 1;
        if (deleted && !opts.includeDeletedForms) return;
        const found = findFormAttachments(form);
        if (found.invalid.length > 0) {
          tally.invalidAttachments += found.invalid.length;
          log.warn('form has attachment objects with an empty fileId or key; they are not queued', {
            flowId: form.id,
            flowCode: found.vars.flowCode,
            problems: found.invalid.slice(0, 10),
          });
        }
        if (found.refs.length === 0) {
          tally.formsWithoutAttachments += 1;
          return;
        }
        for (const ref of found.refs) {
          // With form placeholders in the template each form keeps its own copy of a shared file.
          const refKey = `${ref.id}\u0000${ref.key}${perForm ? `\u0000${form.id}` : ''}`;
          if (seenRefs.has(refKey) || windowSeenRefs.has(refKey)) {
            tally.duplicates += 1;
            continue;
          }
          windowSeenRefs.add(refKey);
          tally.refKeys.push(refKey);
          tally.refs.push(ref);
        }
      };

      const startDate = formatChinaTime(window.startMs);
      const endDate = formatChinaTime(window.endMs);
      let jobId: string | undefined;
      try {
        for (const type of opts.formTypes) {
          await listWindow(deps.forms, {
            type,
            startDate,
            endDate,
            pageSize: opts.pageSize,
            pauseMs: opts.pagePauseMs,
            sleep,
            signal,
            onPage: () => {
              tally.pages += 1;
            },
            onForm,
          });
        }
        if (tally.refs.length > 0) {
          const started = await deps.startJob({
            jobId: newJobId(window),
            source: {
              kind: 'schedule',
              windowStart: new Date(window.startMs).toISOString(),
              windowEnd: new Date(window.endMs).toISOString(),
            },
            items: tally.refs,
            keyTemplate: opts.keyTemplate,
          });
          jobId = started.jobId;
        }
      } catch (err) {
        summary.pages += tally.pages;
        if (signal?.aborted) {
          // The window did not fit: the next invocation retries it, with a smaller window so that it does.
          windowMs = Math.max(MIN_WINDOW_MS, Math.floor(windowMs / 2));
          summary.status = 'partial';
          summary.stoppedBecause = 'aborted';
          log.warn('window abandoned at the deadline; it will be retried', {
            startDate,
            endDate,
            nextWindowMs: windowMs,
          });
          break;
        }
        throw err;
      }

      const committedWindowMs = windowMs;
      windowMs = Math.min(opts.windowMs, windowMs * 2);
      await held.commit((s) =>
        commitWindow(s, { window, handled: tally.handled, jobId, windowMs, startedAt, startMs }, opts),
      );
      state = held.state;
      for (const k of tally.formKeys) seenForms.add(k);
      for (const k of tally.refKeys) seenRefs.add(k);
      summary.windows += 1;
      summary.pages += tally.pages;
      summary.forms += tally.forms;
      summary.formsDeleted += tally.formsDeleted;
      summary.formsWithoutAttachments += tally.formsWithoutAttachments;
      summary.formsAlreadySeen += tally.formsAlreadySeen;
      summary.duplicates += tally.duplicates;
      summary.invalidAttachments += tally.invalidAttachments;
      summary.formsInvalid += tally.formsInvalid;
      summary.refs += tally.refs.length;
      if (jobId !== undefined) summary.jobIds.push(jobId);
      summary.watermark = state.watermark;
      longestWindowMs = Math.max(longestWindowMs, now() - began);
      log.info('sync window queued', {
        startDate,
        endDate,
        windowMs: committedWindowMs,
        pages: tally.pages,
        forms: tally.forms,
        refs: tally.refs.length,
        jobId,
      });
    }

    if (summary.status === 'done' && summary.forms === 0 && summary.refs === 0) {
      summary.status = 'nothing_to_do';
    }
    await held.release((s) => ({
      ...s,
      windowMs,
      lastRun: {
        runId,
        startedAt,
        finishedAt: new Date(now()).toISOString(),
        status: summary.status,
        windows: summary.windows,
        forms: summary.forms,
        refs: summary.refs,
        jobIds: summary.jobIds,
      },
    }));
    log.info('sync run finished', { ...summary, jobIds: summary.jobIds.length });
    return summary;
  } catch (err) {
    const code = err instanceof AppError ? err.code : 'internal';
    const message = err instanceof AppError ? err.message : 'unexpected error (see the logs)';
    log.error('sync run failed; the watermark stays where the last committed window left it', {
      code,
      error: err instanceof Error ? err.message : String(err),
    });
    try {
      await held.release((s) => ({
        ...s,
        lastError: { runId, at: new Date(now()).toISOString(), code, message },
      }));
    } catch (releaseErr) {
      // The lock expires on its own; the original error is the one worth reporting.
      log.warn('could not release the sync lock', {
        error: releaseErr instanceof Error ? releaseErr.message : String(releaseErr),
      });
    }
    throw err;
  }
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
function commitWindow(s: SyncState, c: WindowCommit, opts: Resolved): SyncState {
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

interface ListWindowOptions {
  type: FormType;
  startDate: string;
  endDate: string;
  pageSize: number;
  pauseMs: number;
  sleep: Sleep;
  signal: AbortSignal | undefined;
  onPage: () => void;
  onForm: (form: EkuaibaoForm) => void;
}

/**
 * Every form of one type in the window, by offset pages in updateTime order. A form updated while we page
 * leaves the window (its new updateTime is past endDate) and shifts the later ones back, which would make plain
 * offset paging skip a form at each page boundary. The total `count` drops when that happens, so we step back
 * by the drop and read the overlap again (re-read forms are de-duplicated by the caller).
 */
async function listWindow(source: Pick<FormsSource, 'getApplyList'>, o: ListWindowOptions): Promise<void> {
  let start = 0;
  let previousCount: number | undefined;
  let backups = 0;
  for (let page = 0; ; page++) {
    if (page > 0 && o.pauseMs > 0) await abortableSleep(o.sleep, o.pauseMs, o.signal);
    const query: Parameters<FormsSource['getApplyList']>[0] = {
      type: o.type,
      start,
      count: o.pageSize,
      startDate: o.startDate,
      endDate: o.endDate,
      orderBy: 'updateTime',
      orderByType: 'asc',
    };
    if (o.signal) query.signal = o.signal;
    const { count, items } = await source.getApplyList(query);
    o.onPage();
    for (const item of items) o.onForm(item);
    const dropped = previousCount !== undefined && count < previousCount ? previousCount - count : 0;
    previousCount = count;
    if (dropped > 0) {
      backups += 1;
      if (backups > MAX_BACKUPS_PER_LISTING) {
        throw new AppError(
          'sync_listing_unstable',
          `getApplyList for ${o.type} kept changing while it was paged; the window will be retried`,
          { retryable: true, status: 503 },
        );
      }
    }
    if (dropped === 0) {
      start += items.length;
      if (items.length < o.pageSize || start >= count) return;
    } else {
      // The forms we missed now sit just before this page: read from there again.
      start = Math.max(0, start - dropped);
    }
  }
}
