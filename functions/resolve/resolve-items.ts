/**
 * Turns validated request items into resolutions: one resolveDownloadUrls call per distinct expiration, under the
 * handler's deadline signal. Errors are reshaped for the API here, so the handler stays thin.
 */
import { groupByExpiration, type ResolveRequestItem } from '../core/attachments/resolve-request.js';
import { AbortedError, AppError, DeadlineError, isAppError } from '../core/errors.js';
import type { Resolution } from '../core/model/resolution.js';
import type { DownloadUrlResolver } from '../core/ports.js';

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
