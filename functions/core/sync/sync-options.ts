/**
 * The sync's options: what a caller may set (SyncOptions), how they are checked and defaulted (resolveSyncOptions),
 * and how the functions' settings plus one invocation's time map onto them (syncOptionsFromConfig).
 */

import { DEFAULT_PAGE_PAUSE_MS } from '../ekuaibao/list-forms.js';
import { ValidationError } from '../errors.js';
import { FORM_TYPES, type FormType, MAX_APPLY_LIST_COUNT } from '../model/forms.js';
import { DEFAULT_SYNC_STATE_KEY } from './state.js';
import { DEFAULT_WINDOW_MS, MIN_WINDOW_MS } from './windows.js';

export const DEFAULT_SYNC_KEY_TEMPLATE = 'forms/{formType}/{flowCode}/{fileId}-{fileName}';
/**
 * packages: every form changed in a window is archived whole (its files, invoices, JSON, print PDF and index;
 * core/packages). files: only the attachment objects the form's JSON names, under the key template (the sync
 * before form packages; `ekb-archive sync` still does this).
 */
export const SYNC_MODES = ['packages', 'files'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];
export const DEFAULT_SYNC_MODE: SyncMode = 'packages';
export const DEFAULT_OVERLAP_MINUTES = 10;
/** Longer than a Lambda can run (15 min), so a live run never loses its lock; a crashed one frees it soon after. */
export const DEFAULT_LOCK_TTL_MS = 16 * 60_000;
/** Do not start a window with less time than this left: listing a busy day and queuing its refs takes a while. */
export const DEFAULT_WINDOW_RESERVE_MS = 2 * 60_000;

export interface SyncOptions {
  /** packages (default) or files (config.syncMode); see SYNC_MODES. */
  mode?: SyncMode;
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

export interface ResolvedSyncOptions {
  mode: SyncMode;
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

export function resolveSyncOptions(o: SyncOptions): ResolvedSyncOptions {
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
  const mode = o.mode ?? DEFAULT_SYNC_MODE;
  if (!SYNC_MODES.includes(mode)) {
    throw new ValidationError(
      `sync option mode must be ${SYNC_MODES.join(' or ')} (got ${JSON.stringify(mode)})`,
    );
  }
  return {
    mode,
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

export interface SyncInvocation {
  /** Lambda: context.getRemainingTimeInMillis. */
  remainingMs?: () => number;
  /** Fires config.deadlineMarginMs before the Lambda deadline. */
  signal?: AbortSignal;
}

/** The sync's part of the functions' settings (functions/config.ts satisfies it). */
export interface SyncConfig {
  syncMode: SyncMode;
  syncFormTypes: readonly string[];
  syncOverlapMinutes: number;
  syncStartDate: string | undefined;
  syncObjectKeyTemplate: string;
}

export function syncOptionsFromConfig(config: SyncConfig, invocation: SyncInvocation = {}): SyncOptions {
  const options: SyncOptions = {
    mode: config.syncMode,
    formTypes: config.syncFormTypes,
    overlapMinutes: config.syncOverlapMinutes,
    keyTemplate: config.syncObjectKeyTemplate,
  };
  if (config.syncStartDate !== undefined) options.startDate = config.syncStartDate;
  if (invocation.remainingMs) options.remainingMs = invocation.remainingMs;
  if (invocation.signal) options.signal = invocation.signal;
  return options;
}
