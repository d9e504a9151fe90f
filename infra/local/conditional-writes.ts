/**
 * S3's conditional writes, which s3rver ignores: `If-None-Match: *` (write only where no object is) and
 * `If-Match: <etag>` (write only over that very object), on PutObject and on CompleteMultipartUpload. The copy
 * engine writes every file this way so that two writers racing for one key never both "win" (issue 12), and the
 * local stack, the CLI against it, the tests and the bench all run on s3rver.
 *
 * The headers are the request's; the store decides at commit time, with the key's lock held (atomic-store.ts), so
 * exactly one of two racing writers wins, as in S3. This module only carries the headers from the HTTP request to
 * the store and says S3's answer.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

type Headers = Record<string, string | string[] | undefined>;

/** The conditions a write request carries (absent when it has none). */
export interface WriteConditions {
  ifNoneMatch?: string;
  ifMatch?: string;
}

/** S3's refusal of a write whose condition does not hold: its error code, message and HTTP details. */
export interface ConditionRefusal {
  code: 'PreconditionFailed' | 'NoSuchKey';
  message: string;
  detail?: Record<string, string>;
}

const first = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

const unquote = (etag: string): string => etag.trim().replace(/^W\//, '').replace(/"/g, '');

export function conditionsOf(headers: Headers | undefined): WriteConditions | undefined {
  const ifNoneMatch = first(headers?.['if-none-match']);
  const ifMatch = first(headers?.['if-match']);
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  return {
    ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }),
    ...(ifMatch === undefined ? {} : { ifMatch }),
  };
}

/**
 * S3's answer to a write with `conditions` over the object whose ETag is `etag` (undefined: no object at the key),
 * or undefined when the write may go ahead.
 */
export function conditionRefusal(
  conditions: WriteConditions | undefined,
  etag: string | undefined,
): ConditionRefusal | undefined {
  if (!conditions) return undefined;
  const failed = (condition: string): ConditionRefusal => ({
    code: 'PreconditionFailed',
    message: 'At least one of the pre-conditions you specified did not hold',
    detail: { Condition: condition },
  });
  if (conditions.ifNoneMatch?.trim() === '*' && etag !== undefined) return failed('If-None-Match');
  if (conditions.ifMatch !== undefined) {
    if (etag === undefined) return { code: 'NoSuchKey', message: 'The specified key does not exist.' };
    if (unquote(conditions.ifMatch) !== unquote(etag)) return failed('If-Match');
  }
  return undefined;
}

/**
 * The request's conditions where the store can read them: `middleware` goes first in s3rver's (Koa's) chain,
 * before the server listens, and `current()` then answers inside every store call that request makes.
 */
export function requestConditions(): {
  middleware: (ctx: { headers: Headers }, next: () => Promise<unknown>) => unknown;
  current: () => WriteConditions | undefined;
} {
  const storage = new AsyncLocalStorage<WriteConditions | undefined>();
  return {
    middleware: (ctx, next) => storage.run(conditionsOf(ctx.headers), next),
    current: () => storage.getStore(),
  };
}
