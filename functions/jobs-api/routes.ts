/**
 * Routing for the jobs API. API Gateway only sends this function `POST /copy-jobs`, `GET /copy-jobs/{jobId}`,
 * `GET /copy-jobs/{jobId}/index`, `POST /verify-jobs`, `GET /verify-jobs/{runId}` and `POST /form-archives`, but a `$default` route, a proxy or the local stack may send anything: unknown paths are
 * 404, a known path with the wrong method is 405 with `Allow`, and the job id is taken from the path itself and
 * checked before use. The routes themselves: POST /copy-jobs starts a job (every batch queued before the 202),
 * GET reads its status, POST /form-archives hands a checked request to fan-out (which needs 合思 to plan it).
 */
import { fallbackLanes, type Lanes } from '../core/attachments/lanes.js';
import { AppError, ErrorCode, ValidationError } from '../core/errors.js';
import { parseCopyJobRequest } from '../core/jobs/copy-job-request.js';
import { getJobStatus } from '../core/jobs/job-status.js';
import { newJobId } from '../core/jobs/keys.js';
import { startCopyJob } from '../core/jobs/start-copy-job.js';
import type { JobStatus } from '../core/model/job.js';
import {
  formArchiveRequestKey,
  parseFormArchiveRequest,
  type StoredFormArchiveRequest,
} from '../core/packages/form-request.js';
import type { BatchQueue, Logger, ManifestSource, ReportStore, TextStore } from '../core/ports.js';
import { parseJsonBody } from '../core/util/json-body.js';
import { acceptsGzip, decodeBody, type HttpApiEvent, requireJsonContentType } from '../http/api-request.js';
import { type ApiResponse, jsonResponse } from '../http/api-response.js';
import type { ApiDeps } from '../middleware/api-request.js';
import type { VerifyRouteDeps } from './verify-routes.js';

export interface JobsApiDeps extends ApiDeps, VerifyRouteDeps {
  queue: BatchQueue;
  store: ReportStore;
  /** The per-job file indexes (jobs/<jobId>/index/). */
  index: TextStore;
  manifests: ManifestSource;
  /** The archive bucket: the only one POST {"manifest"} may name. */
  bucket: string;
  /** Default object key template (config.objectKeyTemplate); a request may send its own. */
  keyTemplate: string;
  reportPrefix?: string;
  /** The bucket's lanes (config); default: the template's root plus attachments/ and forms/. */
  lanes?: Lanes;
  /** Most refs one POST may carry (default 10,000); more → 413. */
  maxRefs?: number;
  /** Largest raw body (default 5 MiB: a synchronous Lambda invocation carries at most 6 MB). */
  maxBodyBytes?: number;
  now?: () => Date;
  newJobId?: (now: Date) => string;
}

/** Room under API Gateway's 10 MB and Lambda's 6 MB synchronous payload: 10,000 refs with long DP: keys fit. */
const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

export type JobsRoute =
  | { name: 'create' }
  | { name: 'status'; jobId: string }
  | { name: 'index'; jobId: string }
  | { name: 'verify'; runId?: string }
  | { name: 'formArchives' };

export class MethodNotAllowedError extends AppError {
  readonly allow: string;
  constructor(method: string, allow: string) {
    super(ErrorCode.MethodNotAllowed, `${method} is not allowed here; use ${allow}`, { status: 405 });
    this.allow = allow;
  }
}

export interface RouteInput {
  method: string;
  rawPath: string;
  /** `POST /copy-jobs` when API Gateway matched a declared route; `$default` (or absent) otherwise. */
  routeKey?: string;
  pathParameters?: Record<string, string | undefined>;
}

function decodedId(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ValidationError('the id in the path is not valid URL encoding');
  }
}

export function matchJobsRoute(input: RouteInput): JobsRoute {
  const { method, rawPath, routeKey, pathParameters } = input;
  // A declared route is decisive (its rawPath may carry a stage name); only $default needs the path parsed.
  if (routeKey === 'POST /copy-jobs') return { name: 'create' };
  if (routeKey === 'POST /form-archives') return { name: 'formArchives' };
  if (routeKey === 'GET /copy-jobs/{jobId}' && pathParameters?.jobId !== undefined) {
    return { name: 'status', jobId: pathParameters.jobId };
  }
  if (routeKey === 'GET /copy-jobs/{jobId}/index' && pathParameters?.jobId !== undefined) {
    return { name: 'index', jobId: pathParameters.jobId };
  }
  if (routeKey === 'POST /verify-jobs') return { name: 'verify' };
  if (routeKey === 'GET /verify-jobs/{runId}' && pathParameters?.runId !== undefined) {
    return { name: 'verify', runId: pathParameters.runId };
  }
  const segments = rawPath.split('/').filter((s) => s !== '');
  const upper = method.toUpperCase();
  if (segments.length === 1 && (segments[0] === 'copy-jobs' || segments[0] === 'form-archives')) {
    if (upper !== 'POST') throw new MethodNotAllowedError(upper, 'POST');
    return segments[0] === 'copy-jobs' ? { name: 'create' } : { name: 'formArchives' };
  }
  if (segments[0] === 'verify-jobs' && segments.length <= 2) {
    const wanted = segments.length === 1 ? 'POST' : 'GET';
    if (upper !== wanted) throw new MethodNotAllowedError(upper, wanted);
    return segments.length === 1
      ? { name: 'verify' }
      : { name: 'verify', runId: decodedId(segments[1] as string) };
  }
  const withIndex = segments.length === 3 && segments[2] === 'index';
  if ((segments.length === 2 || withIndex) && segments[0] === 'copy-jobs') {
    if (upper !== 'GET') throw new MethodNotAllowedError(upper, 'GET');
    return { name: withIndex ? 'index' : 'status', jobId: decodedId(segments[1] as string) };
  }
  throw new AppError(ErrorCode.NotFound, `no route for ${upper} ${rawPath.slice(0, 200)}`, { status: 404 });
}

/** POST /copy-jobs → 202 once every batch is queued and job.json written. */
export async function postCopyJob(
  event: HttpApiEvent,
  d: JobsApiDeps,
  log: Logger,
  signal: AbortSignal | undefined,
): Promise<ApiResponse> {
  requireJsonContentType(event.headers);
  const body = decodeBody(event, { maxBytes: d.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });
  const lanes = d.lanes ?? fallbackLanes(d.keyTemplate, d.reportPrefix);
  const request = parseCopyJobRequest(body, {
    bucket: d.bucket,
    lanes,
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
      lanes,
      ...(d.reportPrefix === undefined ? {} : { reportPrefix: d.reportPrefix }),
      ...(d.now === undefined ? {} : { now: d.now }),
      ...(signal === undefined ? {} : { signal }),
    },
  );
  const status = `/copy-jobs/${jobId}`;
  const { counts } = record;
  return jsonResponse(
    202,
    {
      jobId,
      refs: counts.refs,
      batches: counts.batches,
      duplicates: counts.duplicates,
      badLines: counts.badLines,
      ...(record.badLines.length > 0 ? { firstBadLines: record.badLines.slice(0, 20) } : {}),
      ...(record.error ? { error: record.error } : {}),
      status,
    },
    { headers: { location: status } },
  );
}

/** GET /copy-jobs/{jobId} → 200 JobStatus, 404 for a job that does not exist. */
export async function getCopyJob(event: HttpApiEvent, jobId: string, d: JobsApiDeps): Promise<ApiResponse> {
  const status = (await getJobStatus(jobId, d.store, d.reportPrefix)) ?? (await plannedJob(jobId, d.store));
  if (status === undefined) {
    throw new AppError(ErrorCode.JobNotFound, `there is no job ${jobId}`, { status: 404 });
  }
  return jsonResponse(200, status, { gzip: acceptsGzip(event.headers) });
}

/** A form-archive request fan-out has not planned yet: the job exists, nothing is queued so far. */
async function plannedJob(jobId: string, store: ReportStore): Promise<JobStatus | undefined> {
  const request = await store.getJson<StoredFormArchiveRequest>(formArchiveRequestKey(jobId));
  if (request === undefined) return undefined;
  return {
    jobId,
    createdAt: request.requestedAt,
    source: { kind: 'form-archives', request: formArchiveRequestKey(jobId) },
    state: 'running',
    planning: true,
    totals: { refs: 0, copied: 0, skipped: 0, failed: 0, pending: 0, bytes: 0 },
    badLines: [],
    failures: [],
  };
}

/**
 * POST /form-archives {"codes"|"ids"|"since"…} → 202 {jobId, status}: the request is checked here (400 naming the
 * item and field) and stored under manifests/form-archives/<jobId>.json, whose upload starts fan-out; fan-out
 * fetches the forms from 合思 and queues the packages, and GET /copy-jobs/{jobId} follows the job from then on.
 */
export async function postFormArchives(event: HttpApiEvent, d: JobsApiDeps): Promise<ApiResponse> {
  requireJsonContentType(event.headers);
  const text = decodeBody(event, { maxBytes: d.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });
  const now = d.now?.() ?? new Date();
  const request = parseFormArchiveRequest(parseJsonBody(text), () => now.getTime());
  const jobId = (d.newJobId ?? newJobId)(now);
  const stored: StoredFormArchiveRequest = { v: 1, jobId, requestedAt: now.toISOString(), request };
  await d.store.putJson(formArchiveRequestKey(jobId), stored);
  const status = `/copy-jobs/${jobId}`;
  return jsonResponse(202, { jobId, request, status }, { headers: { location: status } });
}
