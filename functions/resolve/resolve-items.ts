/**
 * Turns validated request items into resolutions: one resolveDownloadUrls call per distinct expiration, under a
 * deadline taken from the Lambda's remaining time. Errors are reshaped for the API here, so the handler stays thin.
 */
import { groupByExpiration, type ResolveRequestItem } from '../core/attachments/resolve-request.js';
import { AbortedError, AppError, DeadlineError, isAppError } from '../core/errors.js';
import type { Resolution } from '../core/model/resolution.js';
import type { DownloadUrlResolver } from '../core/ports.js';

/**
 * Time kept back from the Lambda deadline to log and send the answer (a 5,000-item answer takes some tens of ms
 * to serialize, and gzip more). Unlike config.deadlineMarginMs, which a copy worker needs to hand work back, an
 * API call only has to answer, and API Gateway gives it 30 s at most.
 */
export const DEFAULT_RESOLVE_DEADLINE_MARGIN_MS = 1_500;

export interface Deadline {
  /** Aborts when the Lambda's remaining time minus the margin has passed; undefined without a Lambda context. */
  readonly signal: AbortSignal | undefined;
  dispose(): void;
}

export function deadlineFromContext(
  context: { getRemainingTimeInMillis?: () => number } | undefined,
  marginMs: number,
): Deadline {
  const remaining = context?.getRemainingTimeInMillis?.();
  if (typeof remaining !== 'number' || !Number.isFinite(remaining)) {
    return { signal: undefined, dispose() {} };
  }
  const controller = new AbortController();
  const budget = Math.max(0, remaining - marginMs);
  const timer = setTimeout(
    () => controller.abort(new DeadlineError(`no time left after ${budget} ms`)),
    budget,
  );
  return { signal: controller.signal, dispose: () => clearTimeout(timer) };
}

/**
 * Resolutions aligned with `items` (`result[i]` answers `items[i]`). Groups run one after another: the client
 * already keeps several ≤100-ref calls in flight per group, and running groups at once would multiply that
 * against 合思's rate limits. A request almost always has a single expiration, hence a single group.
 */
export async function resolveRequestItems(
  items: readonly ResolveRequestItem[],
  resolver: DownloadUrlResolver,
  signal?: AbortSignal,
): Promise<Resolution[]> {
  const out = new Array<Resolution>(items.length);
  for (const group of groupByExpiration(items)) {
    let answers: Resolution[];
    try {
      answers = await resolver.resolveDownloadUrls(
        group.items.map((item) => item.ref),
        signal ? { expiration: group.expiration, signal } : { expiration: group.expiration },
      );
    } catch (err) {
      throw forApi(err, signal);
    }
    if (answers.length !== group.items.length) {
      throw new AppError(
        'resolver_mismatch',
        `resolver answered ${answers.length} refs for ${group.items.length} asked`,
      );
    }
    group.items.forEach((item, j) => {
      out[item.index] = answers[j] as Resolution;
    });
  }
  return out;
}

/**
 * Our own deadline firing is a gateway timeout (504), not a cancellation by the caller. A 4xx from the resolver
 * means the request already passed our validation (e.g. no credentials configured): the service is at fault, so
 * the caller gets a generic 500 and the real error is logged.
 */
function forApi(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && err instanceof AbortedError) {
    return new DeadlineError('the request ran out of time before 合思 answered', { cause: err });
  }
  if (isAppError(err) && err.status < 500) {
    return new AppError('resolver_refused', `the resolver refused a request the API accepted (${err.code})`, {
      status: 500,
      cause: err,
    });
  }
  return err;
}
