/**
 * The jobs API (API Gateway HTTP API, payload v2, IAM auth):
 *   POST /copy-jobs        {"refs": [{id, key, fileName?, targetKey?}, …], "keyTemplate"?}  or  {"manifest": "s3://…"}
 *                          → 202 {jobId, refs, batches, duplicates, badLines, status}: every batch is queued
 *   GET  /copy-jobs/{id}   → 200 JobStatus (totals copied / skipped / failed / pending, failures), 404 unknown job
 *   POST /form-archives    {"codes"|"ids": […]} or {"since", "until"?, "formTypes"?} → 202 {jobId, status}: form
 *                          packages, planned by fan-out
 *   GET  /copy-jobs/{id}/index → 200 the job's file index, JSON lines or CSV, in pages (index-route.ts)
 *   POST /verify-jobs, GET /verify-jobs/{runId} → re-check the bucket against the records (verify-routes.ts)
 * Bad input → 400 naming the item and field; more than 10,000 refs → 413; a manifest outside the archive bucket's
 * manifests/ → 400; malformed JSON → 400; unknown path → 404; wrong method → 405. Errors are
 * `{"error": {code, message, requestId}}`; anything unexpected is a generic 500 with the real error logged.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithRequestContext } from 'aws-lambda';
import { fromEnvironment } from '../compose/composition.js';
import { jobsApiDeps } from '../compose/storage.js';
import type { ApiResponse } from '../http/api-response.js';
import { createLogger } from '../logger.js';
import { type ApiContext, apiMiddleware } from '../middleware/api-request.js';
import { asLambdaHandler, type DepsSource } from '../middleware/lazy-deps.js';
import { getJobIndex } from './index-route.js';
import {
  getCopyJob,
  type JobsApiDeps,
  MethodNotAllowedError,
  matchJobsRoute,
  postCopyJob,
  postFormArchives,
} from './routes.js';
import { getVerifyJob, postVerifyJob } from './verify-routes.js';

/** Any authorizer shape fits: only the request id and the HTTP method are read from the context. */
export type JobsApiEvent = APIGatewayProxyEventV2WithRequestContext<{
  requestId?: string;
  http?: { method?: string };
}>;

export function createHandler(
  deps: DepsSource<JobsApiDeps>,
  bootLogger = createLogger({ service: 'jobs-api' }),
) {
  const handler = middy<JobsApiEvent, ApiResponse, Error, ApiContext<JobsApiDeps>>()
    .use(
      apiMiddleware({
        deps,
        bootLogger,
        summary: 'jobs request',
        fields: () => ({ route: 'unknown' }),
        errorHeaders: (err) => (err instanceof MethodNotAllowedError ? { allow: err.allow } : undefined),
      }),
    )
    .handler(async (event, context) => {
      const method = event.requestContext?.http?.method ?? 'GET';
      context.logFields.method = method;
      const route = matchJobsRoute({
        method,
        rawPath: event.rawPath ?? '/',
        ...(event.routeKey ? { routeKey: event.routeKey } : {}),
        ...(event.pathParameters ? { pathParameters: event.pathParameters } : {}),
      });
      context.logFields.route = route.name;
      if (route.name === 'create') return postCopyJob(event, context.deps, context.log, context.signal);
      if (route.name === 'formArchives') return postFormArchives(event, context.deps);
      if (route.name === 'index') return getJobIndex(event, route.jobId, context.deps);
      if (route.name === 'verify') {
        return route.runId === undefined
          ? postVerifyJob(event, context.deps)
          : getVerifyJob(event, route.runId, context.deps);
      }
      return getCopyJob(event, route.jobId, context.deps);
    });
  return asLambdaHandler(handler);
}

export const handler = createHandler(() => jobsApiDeps(fromEnvironment('jobs-api')));
