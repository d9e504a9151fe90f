/**
 * The deadline signal, written once for every handler: it fires a margin before the Lambda deadline so the work
 * stops in time to hand back what did not finish (copy: abort uploads and still write the batch report; fan-out:
 * stop between two queue calls; the API: answer 504 instead of API Gateway's own timeout). Its reason is a
 * DeadlineError, code `deadline`.
 *
 * Not middy's timeoutEarlyInMillis: that one resolves the invocation with its own early response while the handler
 * is still running (the copy worker would lose the report it is about to write), its margin is fixed when the
 * handler is created (ours comes from config read on first use), and inside the margin it aborts on the next tick
 * rather than before any work starts.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { DeadlineError } from '../core/errors.js';
import type { WithDeps } from './lazy-deps.js';

/**
 * Time the API functions keep back from the Lambda deadline to log and send the answer (a 5,000-item answer takes
 * some tens of ms to serialize, and gzip more). API Gateway gives them 29 s at most.
 */
export const API_DEADLINE_MARGIN_MS = 1_500;

export interface WithDeadline {
  /** Fires `margin` before the deadline; undefined without a Lambda context (tests, scripts). */
  signal: AbortSignal | undefined;
}

/**
 * A host that runs the handlers itself (the local stack) may stop an invocation before its deadline, e.g. when it
 * shuts down: it puts this signal on the context, and the deadline signal fires with it (Lambda never sets it).
 */
export interface WithStopSignal {
  stopSignal?: AbortSignal;
}

export interface DeadlineSignal {
  readonly signal: AbortSignal | undefined;
  dispose(): void;
}

export function deadlineSignal(
  remainingMs: number | undefined,
  marginMs: number,
  stopSignal?: AbortSignal,
): DeadlineSignal {
  if (typeof remainingMs !== 'number' || !Number.isFinite(remainingMs))
    return { signal: undefined, dispose() {} };
  const controller = new AbortController();
  const onStop = (): void =>
    controller.abort(new DeadlineError('stopping early: the host running this invocation is shutting down'));
  if (stopSignal?.aborted) {
    onStop();
    return { signal: controller.signal, dispose() {} };
  }
  stopSignal?.addEventListener('abort', onStop, { once: true });
  const unlisten = (): void => stopSignal?.removeEventListener('abort', onStop);
  const budget = Math.max(0, remainingMs - marginMs);
  const reason = (): DeadlineError =>
    new DeadlineError(`stopping ${marginMs} ms before the function deadline (after ${budget} ms)`);
  // Already inside the margin: stop before starting anything, not after the next timer tick.
  if (budget === 0) {
    controller.abort(reason());
    unlisten();
    return { signal: controller.signal, dispose() {} };
  }
  const timer = setTimeout(() => controller.abort(reason()), budget);
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      unlisten();
    },
  };
}

/** Sets `context.signal` for the handler; `marginMs` reads the margin from the handler's deps. */
export function deadline<D, E = unknown, R = unknown>(
  marginMs: (deps: D) => number,
): MiddlewareObj<E, R, Error, Context & WithDeps<D> & WithDeadline & WithStopSignal> {
  // Per request: the local stack runs one handler for several invocations at once.
  const live = new WeakMap<object, DeadlineSignal>();
  const dispose = (request: object): void => {
    live.get(request)?.dispose();
    live.delete(request);
  };
  return {
    name: 'deadline',
    before: (request) => {
      const d = deadlineSignal(
        request.context.getRemainingTimeInMillis?.(),
        marginMs(request.context.deps),
        request.context.stopSignal,
      );
      live.set(request, d);
      request.context.signal = d.signal;
    },
    after: dispose,
    onError: dispose,
  };
}
