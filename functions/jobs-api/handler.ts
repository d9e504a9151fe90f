/**
 * The jobs API (API Gateway HTTP API, payload v2, IAM auth):
 *   POST /copy-jobs        {"refs": [{id, key, fileName?, targetKey?}, …], "keyTemplate"?}  or  {"manifest": "s3://…"}
 *                          → 202 {jobId, refs, batches, duplicates, badLines, status}: every batch is queued
 *   GET  /copy-jobs/{id}   → 200 JobStatus (totals copied / skipped / failed / pending, failures), 404 unknown job
 * Bad input → 400 naming the item and field; more than 10,000 refs → 413; a manifest outside the archive bucket's
 * manifests/ → 400; malformed JSON → 400; unknown path → 404; wrong method → 405. Errors are
 * `{"error": {code, message, requestId}}`; anything unexpected is a generic 500 with the real error logged.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithRequestContext, Context } from 'aws-lambda';
import { loadConfig } from '../config.js';
import { deadlineSignal } from '../core/copy/deadline.js';
import { AppError } from '../core/errors.js';
import { parseCopyJobRequest } from '../core/jobs/copy-job-request.js';
import { getJobStatus } from '../core/jobs/job-status.js';
import { newJobId } from '../core/jobs/keys.js';
import { startCopyJob } from '../core/jobs/start-copy-job.js';
import type { Logger } from '../core/ports.js';
import { acceptsGzip, decodeBody, requestIdOf, requireJsonContentType } from '../http/api-request.js';
import { type ApiResponse, jsonResponse, toApiResponse } from '../http/api-response.js';
import { createLogger } from '../logger.js';
import { depsFromConfig, type JobsApiDeps } from './deps.js';
import { MethodNotAllowedError, matchJobsRoute } from './routes.js';

/** Any authorizer shape fits: only the request id and the HTTP method are read from the context. */
export type JobsApiEvent = APIGatewayProxyEventV2WithRequestContext<{
  requestId?: string;
  http?: { method?: string };
}>;

/** Room under API Gateway's 10 MB and Lambda's 6 MB synchronous payload: 10,000 refs with long DP: keys fit. */
const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;
/** Time kept back from the 29 s integration timeout to answer with a clear 503 instead of API Gateway's own. */
const DEFAULT_DEADLINE_MARGIN_MS = 1_500;

async function createCopyJob(event: JobsApiEvent, d: JobsApiDeps, log: Logger, signal?: AbortSignal) {
  requireJsonContentType(event.headers);
  const body = decodeBody(event, { maxBytes: d.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });
  const request = parseCopyJobRequest(body, {
    bucket: d.bucket,
    ...(d.maxRefs ? { maxRefs: d.maxRefs } : {}),
  });
  const jobId = (d.newJobId ?? newJobId)(d.now?.() ?? new Date());
  const { record } = await startCopyJob(
    request,
    { jobId, defaultKeyTemplate: d.keyTemplate },
    {
      queue: d.queue,
      store: d.store,
      manifests: d.manifests,
      logger: log,
      ...(d.reportPrefix === undefined ? {} : { reportPrefix: d.reportPrefix }),
      ...(d.now === undefined ? {} : { now: d.now }),
      ...(signal === undefined ? {} : { signal }),
    },
  );
  const status = `/copy-jobs/${jobId}`;
  return jsonResponse(
    202,
    {
      jobId,
      refs: record.counts.refs,
      batches: record.counts.batches,
      duplicates: record.counts.duplicates,
      badLines: record.counts.badLines,
      ...(record.badLines.length > 0 ? { firstBadLines: record.badLines.slice(0, 20) } : {}),
      ...(record.error ? { error: record.error } : {}),
      status,
    },
    { headers: { location: status } },
  );
}

export function createHandler(
  deps: JobsApiDeps | (() => JobsApiDeps),
  bootLogger: Logger = createLogger({ service: 'jobs-api' }),
) {
  return middy(async (event: JobsApiEvent, context: Context): Promise<ApiResponse> => {
    const started = performance.now();
    const requestId = requestIdOf(event, context);
    let d: JobsApiDeps;
    try {
      d = typeof deps === 'function' ? deps() : deps;
    } catch (err) {
      const misconfigured = new AppError('misconfigured', 'jobs API cannot start', { cause: err });
      return toApiResponse(misconfigured, bootLogger.child({ requestId }), requestId);
    }
    const log = d.logger.child({ requestId });
    const method = event.requestContext?.http?.method ?? 'GET';
    const deadline = deadlineSignal(
      context.getRemainingTimeInMillis?.(),
      d.deadlineMarginMs ?? DEFAULT_DEADLINE_MARGIN_MS,
    );
    let response: ApiResponse;
    let route = 'unknown';
    try {
      const matched = matchJobsRoute({
        method,
        rawPath: event.rawPath ?? '/',
        ...(event.routeKey ? { routeKey: event.routeKey } : {}),
        ...(event.pathParameters ? { pathParameters: event.pathParameters } : {}),
      });
      route = matched.name;
      if (matched.name === 'create') {
        response = await createCopyJob(event, d, log, deadline.options.signal);
      } else {
        const status = await getJobStatus(matched.jobId, d.store, d.reportPrefix);
        if (status === undefined) {
          throw new AppError('job_not_found', `there is no job ${matched.jobId}`, { status: 404 });
        }
        response = jsonResponse(200, status, { gzip: acceptsGzip(event.headers) });
      }
    } catch (err) {
      response = toApiResponse(err, log, requestId);
      if (err instanceof MethodNotAllowedError) response.headers.allow = err.allow;
    } finally {
      deadline.dispose();
    }
    log.info('jobs request', {
      route,
      method,
      status: response.statusCode,
      ms: Math.round(performance.now() - started),
    });
    return response;
  });
}

let built: JobsApiDeps | undefined;

export const handler = createHandler(() => {
  built ??= depsFromConfig(loadConfig());
  return built;
});
