/**
 * Lambda's asynchronous invocation, the way S3 notifications and EventBridge call fan-out: the event is accepted
 * at once, the function runs, and a failure (a throw or a timeout) is retried a fixed number of times before the
 * event goes to the on-failure destination, which is kept here for inspection. The stack retries S3 events twice
 * and schedule events four times; AWS waits about a minute, then two, between tries; locally the waits are short.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { createLambdaContext } from './lambda-context.js';

export type AsyncHandler<E> = (event: E, context: Context) => unknown;

export interface FailedInvocation {
  functionName: string;
  requestId: string;
  attempts: number;
  error: string;
  event: unknown;
  at: string;
}

export interface AsyncInvokerOptions {
  functionName: string;
  timeoutMs: number;
  /** Waits before each retry; its length is the number of retries (S3 → fan-out: 2). */
  retryDelaysMs: readonly number[];
  onFailure?: (failure: FailedInvocation) => void;
  onError?: (info: { attempt: number; error: string; willRetry: boolean }) => void;
}

export interface AsyncInvoker<E> {
  /** Accepts the event (like Invoke with InvocationType=Event) and resolves when it finished or finally failed. */
  invoke(event: E): Promise<'ok' | 'failed'>;
  readonly failures: readonly FailedInvocation[];
  /** Invocations running or waiting to retry. */
  readonly running: number;
  /** Resolves when nothing is running or waiting to retry. */
  idle(): Promise<void>;
  /** Cancels pending retries and waits (up to graceMs) for running invocations. */
  close(graceMs?: number): Promise<void>;
}

export function createAsyncInvoker<E>(
  handler: AsyncHandler<E>,
  options: AsyncInvokerOptions,
): AsyncInvoker<E> {
  const failures: FailedInvocation[] = [];
  const running = new Set<Promise<unknown>>();
  const waits = new Map<NodeJS.Timeout, (go: boolean) => void>();
  let closed = false;

  const once = async (event: E, requestId: string): Promise<void> => {
    const context = createLambdaContext({
      functionName: options.functionName,
      timeoutMs: options.timeoutMs,
      requestId,
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve(handler(event, context)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Task timed out after ${(options.timeoutMs / 1000).toFixed(2)} seconds`)),
            options.timeoutMs,
          );
          timer.unref();
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  const wait = (ms: number) =>
    new Promise<boolean>((resolve) => {
      if (closed) return resolve(false);
      const t = setTimeout(() => {
        waits.delete(t);
        resolve(!closed);
      }, ms);
      waits.set(t, resolve);
    });

  const run = async (event: E): Promise<'ok' | 'failed'> => {
    const requestId = randomUUID();
    const tries = options.retryDelaysMs.length + 1;
    for (let attempt = 1; attempt <= tries; attempt += 1) {
      try {
        await once(event, requestId);
        return 'ok';
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        const willRetry = attempt < tries && !closed;
        options.onError?.({ attempt, error, willRetry });
        if (!willRetry || !(await wait(options.retryDelaysMs[attempt - 1] ?? 0))) {
          const failure: FailedInvocation = {
            functionName: options.functionName,
            requestId,
            attempts: attempt,
            error,
            event,
            at: new Date().toISOString(),
          };
          failures.push(failure);
          options.onFailure?.(failure);
          return 'failed';
        }
      }
    }
    return 'failed';
  };

  return {
    invoke(event) {
      const p = run(event);
      running.add(p);
      void p.finally(() => running.delete(p));
      return p;
    },
    failures,
    get running() {
      return running.size;
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    async close(graceMs = 10_000) {
      closed = true;
      // A run waiting to retry stops there and records its failure.
      for (const [t, resolve] of waits) {
        clearTimeout(t);
        resolve(false);
      }
      waits.clear();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...running]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
