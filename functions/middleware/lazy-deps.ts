/**
 * A handler's collaborators, built on first use rather than at import: a deployed function reads its config and
 * builds its clients once per process, and bad config becomes a clear failure of the invocation (a 500 for the API,
 * a retried event for the others) instead of a crash at import. Tests hand in the deps object itself.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';

export interface WithDeps<D> {
  deps: D;
}

export type DepsSource<D> = D | (() => D);

export function lazyDeps<D, E = unknown, R = unknown>(
  source: DepsSource<D>,
): MiddlewareObj<E, R, Error, Context & WithDeps<D>> {
  let built: D | undefined = typeof source === 'function' ? undefined : source;
  return {
    name: 'lazyDeps',
    before: (request) => {
      // A failed build is not kept: the next invocation tries again (a secret fixed meanwhile is picked up).
      built ??= (source as () => D)();
      request.context.deps = built;
    },
  };
}

/** How callers invoke a handler: with the plain Lambda context (the middlewares add `deps` and the rest to it). */
export type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R>;

/** A middy handler whose context type names what its middlewares add, offered to callers as a plain Lambda one. */
export function asLambdaHandler<E, R, C extends Context>(handler: (event: E, context: C) => Promise<R>) {
  return handler as unknown as LambdaHandler<E, R>;
}
