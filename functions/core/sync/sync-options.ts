/**
 * The sync's options from the parsed Config plus what one invocation knows (its time left and deadline signal).
 * Kept beside runSync so the handler stays a few lines and the mapping is tested without Lambda.
 */
import type { Config } from '../../config.js';
import type { SyncOptions } from './run-sync.js';

export interface SyncInvocation {
  /** Lambda: context.getRemainingTimeInMillis. */
  remainingMs?: () => number;
  /** Fires config.deadlineMarginMs before the Lambda deadline. */
  signal?: AbortSignal;
}

export type SyncConfig = Pick<
  Config,
  'syncFormTypes' | 'syncOverlapMinutes' | 'syncStartDate' | 'syncObjectKeyTemplate'
>;

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
