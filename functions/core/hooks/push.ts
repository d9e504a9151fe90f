/**
 * One POST to the receiving route, from the outside in: the secret first (a wrong or missing one is refused with
 * no detail before the body is even looked at), then the body (not JSON, no form id, oversized: 400/413, nothing
 * recorded), then the event recorded and handed on (receive-event.ts). Every answer is decided here; a failure to
 * record or start is a 503 so that 合思 retries, never a 500.
 */
import { AppError } from '../errors.js';
import type { FormArchiver, Logger, VersionedStore } from '../ports.js';
import { hookSecretMatches } from './hook-secret.js';
import { pushEventKey } from './keys.js';
import { parseOutboundEvent } from './outbound-event.js';
import { receiveEvent, wantsArchive } from './receive-event.js';

/** What each answer counts as (one CloudWatch metric per outcome; HookRejected is alarmed on). */
export type PushMetric =
  | 'HookRejected'
  | 'HookBadRequest'
  | 'HookQueued'
  | 'HookDuplicate'
  | 'HookIgnored'
  | 'HookUnknownForm'
  | 'HookNothingToArchive'
  | 'HookFailed';

export interface PushAnswer {
  status: number;
  body: Record<string, unknown>;
  metric: PushMetric;
}

export interface PushDeps {
  /** The expected secret (Secrets Manager in AWS, the data folder locally), read once and cached. */
  secret(): Promise<string>;
  store: VersionedStore;
  archiver: FormArchiver;
  now: () => number;
  logger: Logger;
  /** EKB_HOOK_ACTIONS: the actions that start an archive. */
  actions: readonly string[];
  dedupeMinutes: number;
  maxBodyBytes: number;
}

export interface PushRequest {
  /** The secret the caller put in the URL; undefined when none. */
  secret: string | undefined;
  /** The body, decoded; or the error decoding it met (bad base64, too large). */
  body: Buffer | AppError;
}

const OUTCOME_METRIC: Record<string, PushMetric> = {
  queued: 'HookQueued',
  duplicate: 'HookDuplicate',
  ignored: 'HookIgnored',
  unknown_form: 'HookUnknownForm',
  nothing_to_archive: 'HookNothingToArchive',
};

export async function handlePush(
  request: PushRequest,
  deps: PushDeps,
  signal?: AbortSignal,
): Promise<PushAnswer> {
  const expected = await deps.secret();
  if (!hookSecretMatches(request.secret, expected)) {
    // No detail: the same body for a missing and a wrong secret, only the status differs (as HTTP means them).
    return request.secret === undefined
      ? { status: 401, body: { message: 'Unauthorized' }, metric: 'HookRejected' }
      : { status: 403, body: { message: 'Forbidden' }, metric: 'HookRejected' };
  }
  let event: ReturnType<typeof parseOutboundEvent>;
  try {
    if (request.body instanceof AppError) throw request.body;
    event = parseOutboundEvent(request.body, deps.maxBodyBytes);
  } catch (err) {
    if (err instanceof AppError && err.status >= 400 && err.status < 500) {
      return {
        status: err.status,
        body: { error: { code: err.code, message: err.message } },
        metric: 'HookBadRequest',
      };
    }
    throw err;
  }
  const now = deps.now();
  const windowMs = deps.dedupeMinutes * 60_000;
  const windowStart = windowMs > 0 ? now - (now % windowMs) : now;
  try {
    const result = await receiveEvent(
      {
        key: pushEventKey(event.flowId, event.action, windowStart),
        record: { via: 'push', ...event, receivedAt: new Date(now).toISOString() },
        archive: wantsArchive(event, deps.actions),
      },
      { store: deps.store, archiver: deps.archiver, now: deps.now, logger: deps.logger },
      signal,
    );
    return {
      status: 200,
      body: { received: true, outcome: result.outcome, ...(result.jobId ? { jobId: result.jobId } : {}) },
      metric: OUTCOME_METRIC[result.outcome] ?? 'HookQueued',
    };
  } catch (err) {
    deps.logger.error('could not record or start the pushed event; 合思 will retry', {
      flowId: event.flowId,
      code: err instanceof AppError ? err.code : 'internal',
      error: err instanceof Error ? err.message : String(err),
    });
    return {
      status: 503,
      body: { error: { code: 'unavailable', message: 'not recorded; try again' } },
      metric: 'HookFailed',
    };
  }
}
