/**
 * How one file's copy ends when it does not end copied or skipped: a failed result with a catalogued code, safe
 * to show (no URL query, header or token), and whether a later attempt of the batch may succeed.
 */
import { AppError, CancelledError, ErrorCode, isAppError } from '../errors.js';
import type { FailedResult } from '../model/copy-result.js';
import type { CopyRef } from '../model/refs.js';
import { redactText } from '../util/redact.js';

/** Ends one file's attempts with a result code; carries whether the batch may try again later. */
export class CopyFailure extends AppError {
  constructor(code: ErrorCode, message: string, retryable: boolean) {
    super(code, message, { retryable });
  }
}

/** A download problem worth another GET (5xx, reset, timeout, short body). */
export class TransientDownload extends CopyFailure {}

export const DEADLINE_MESSAGE = 'stopped before the function deadline; will be retried';

export const deadlineFailure = (): CopyFailure => new CopyFailure(ErrorCode.Deadline, DEADLINE_MESSAGE, true);

export function safeMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  return redactText(raw).slice(0, 500) || 'unknown error';
}

export function failed(
  ref: CopyRef,
  code: ErrorCode,
  message: string,
  retryable: boolean,
  objectKey?: string,
): FailedResult {
  return {
    status: 'failed',
    id: ref.id,
    key: ref.key,
    ...(objectKey === undefined ? {} : { objectKey }),
    code,
    retryable,
    message: redactText(message),
  };
}

/** A ref the deadline stopped before it finished: retryable, so the queue hands it out again. */
export function deadlineResult(ref: CopyRef, objectKey?: string): FailedResult {
  return failed(ref, ErrorCode.Deadline, DEADLINE_MESSAGE, true, objectKey);
}

/**
 * A ref the abort signal stopped before it finished, told by the signal's reason: the caller cancelling
 * (CancelledError) is `cancelled`; anything else is the deadline. Both retryable.
 */
export function stoppedResult(ref: CopyRef, reason: unknown, objectKey?: string): FailedResult {
  if (reason instanceof CancelledError)
    return failed(ref, ErrorCode.Cancelled, reason.message, true, objectKey);
  return deadlineResult(ref, objectKey);
}

export function fromError(ref: CopyRef, err: unknown, objectKey?: string): FailedResult {
  if (err instanceof CopyFailure) return failed(ref, err.code, err.message, err.retryable, objectKey);
  if (isAppError(err)) return failed(ref, err.code, safeMessage(err), err.retryable, objectKey);
  return failed(ref, ErrorCode.CopyFailed, safeMessage(err), true, objectKey);
}
