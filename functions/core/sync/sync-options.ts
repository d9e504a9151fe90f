/**
 * The sync's options from the functions' settings plus what one invocation knows (its time left and deadline signal).
 * Kept beside runSync so the handler stays a few lines and the mapping is tested without Lambda.
 */
import type { SyncOptions } from './run-sync.js';

export interface SyncInvocation {
  /** Lambda: context.getRemainingTimeInMillis. */
  remainingMs?: () => number;
  /** Fires config.deadlineMarginMs before the Lambda deadline. */
  signal?: AbortSignal;
}

/** The sync's part of the functions' settings (functions/config.ts satisfies it). */
export interface SyncConfig {
  syncFormTypes: readonly string[];
  syncOverlapMinutes: number;
  syncStartDate: string | undefined;
  syncObjectKeyTemplate: string;
}

export function syncOptionsFromConfig(config: SyncConfig, invocation: SyncInvocation = {}): SyncOptions {
  const options: SyncOptions = {
    formTypes: config.syncFormTypes,
    overlapMinutes: config.syncOverlapMinutes,
    keyTemplate: config.syncObjectKeyTemplate,
  };
  if (config.syncStartDate !== undefined) options.startDate = config.syncStartDate;
  if (invocation.remainingMs) options.remainingMs = invocation.remainingMs;
  if (invocation.signal) options.signal = invocation.signal;
  return options;
}
