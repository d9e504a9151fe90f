/**
 * Everything around an API Gateway handler, written once: the request id, its dependencies built on first use (bad
 * config answers a generic 500 and logs why), a logger carrying the request id, the deadline signal, the one
 * mapping from a thrown error to a safe answer, and one summary line per request.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { AppError, ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import { type HttpApiEvent, requestIdOf } from '../http/api-request.js';
import { type ApiResponse, toApiResponse } from '../http/api-response.js';
import { API_DEADLINE_MARGIN_MS, deadline, type WithDeadline } from './deadline.js';
import { type DepsSource, lazyDeps, type WithDeps } from './lazy-deps.js';

export interface ApiDeps {
  logger: Logger;
  /** Time kept back from the Lambda deadline to answer (default 1.5 s). */
  deadlineMarginMs?: number;
}

export interface ApiContext<D> extends Context, WithDeps<D>, WithDeadline {
  requestId: string;
  /** The request's logger (its lines carry the request id). */
  log: Logger;
  /** What the summary line says besides status and time; the handler adds its counts. */
  logFields: Record<string, unknown>;
}

export interface ApiMiddlewareOptions<D> {
  deps: DepsSource<D>;
  /** Logs a failure to build the deps (there is no deps logger then). */
  bootLogger: Logger;
  /** The summary line's message, e.g. "resolve request". */
  summary: string;
  /** Fields every summary line starts with (counts at zero). */
  fields?: () => Record<string, unknown>;
  /** Headers a refused request answers with besides the error (e.g. Allow for a 405). */
  errorHeaders?: (error: unknown) => Record<string, string> | undefined;
}

type Mw<D> = MiddlewareObj<HttpApiEvent, ApiResponse, Error, ApiContext<D>>;

export function apiMiddleware<D extends ApiDeps>(o: ApiMiddlewareOptions<D>): Mw<D>[] {
  const started = new WeakMap<object, number>();
  const summarize = (request: Parameters<NonNullable<Mw<D>['after']>>[0]): void => {
    const { log, logFields } = request.context;
    const ms = Math.round(performance.now() - (started.get(request) ?? performance.now()));
    log?.info(o.summary, { ...logFields, status: request.response?.statusCode, ms });
  };
  const begin: Mw<D> = {
    name: 'apiRequest',
    before: (request) => {
      started.set(request, performance.now());
      request.context.requestId = requestIdOf(request.event, request.context);
      request.context.logFields = o.fields?.() ?? {};
    },
    onError: (request) => {
      const { requestId } = request.context;
      if (!request.context.deps) {
        // The deps could not be built: bad config. The caller sees a generic 500; the log says which key.
        const misconfigured = new AppError(ErrorCode.Misconfigured, 'function cannot start', {
          cause: request.error,
        });
        request.response = toApiResponse(misconfigured, o.bootLogger.child({ requestId }), requestId);
        return request.response;
      }
      return undefined;
    },
  };
  const logger: Mw<D> = {
    name: 'requestLogger',
    before: (request) => {
      request.context.log = request.context.deps.logger.child({ requestId: request.context.requestId });
    },
    after: summarize,
    onError: (request) => {
      const { log, requestId } = request.context;
      if (!log) return; // the deps were never built: `begin` answers
      request.response = toApiResponse(request.error, log, requestId);
      Object.assign(request.response.headers, o.errorHeaders?.(request.error));
      summarize(request);
    },
  };
  return [
    begin,
    lazyDeps<D, HttpApiEvent, ApiResponse>(o.deps) as unknown as Mw<D>,
    logger,
    deadline<D, HttpApiEvent, ApiResponse>(
      (d) => d.deadlineMarginMs ?? API_DEADLINE_MARGIN_MS,
    ) as unknown as Mw<D>,
  ];
}
