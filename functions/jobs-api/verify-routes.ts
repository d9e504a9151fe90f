/**
 * POST /verify-jobs and GET /verify-jobs/{runId} (core/verify/verify-run.ts does the work):
 *   POST {"jobId": "…"} | {"prefix": "attachments/2026/"} | {"keys": ["…" or an index line, …]}, "deep"?: true
 *        → 202 {runId, status}: the run is recorded under verify/<runId>/ and its first part queued
 *   GET  → 200 {state: running|ok|differs, parts, totals {checked, ok, changed, missing, unrecorded, errors,
 *          bytesRead}, findings: the first 1,000 that are not ok}; 404 unknown run
 * A job that does not exist → 404; a prefix in a system lane, bad keys → 400; more than 10,000 keys → 413.
 */
import { AppError, ErrorCode } from '../core/errors.js';
import { newJobId } from '../core/jobs/keys.js';
import type { VerifyMessage } from '../core/model/verify.js';
import type { ReportStore, TextStore, WorkQueue } from '../core/ports.js';
import { getVerifyStatus, parseVerifyRequest, startVerifyRun } from '../core/verify/verify-run.js';
import { acceptsGzip, decodeBody, type HttpApiEvent, requireJsonContentType } from '../http/api-request.js';
import { type ApiResponse, jsonResponse } from '../http/api-response.js';

export interface VerifyRouteDeps {
  store: ReportStore;
  index: TextStore;
  /** The verify queue; without one (not deployed with it) POST /verify-jobs is refused as misconfigured. */
  verifyQueue?: WorkQueue<VerifyMessage>;
  reportPrefix?: string;
  now?: () => Date;
  newJobId?: (now: Date) => string;
}

/** Keys with index lines are larger than refs; 10,000 of them fit well under this. */
const MAX_VERIFY_BODY_BYTES = 5 * 1024 * 1024;

export async function postVerifyJob(event: HttpApiEvent, d: VerifyRouteDeps): Promise<ApiResponse> {
  requireJsonContentType(event.headers);
  const request = parseVerifyRequest(decodeBody(event, { maxBytes: MAX_VERIFY_BODY_BYTES }), {
    ...(d.reportPrefix === undefined ? {} : { reportPrefix: d.reportPrefix }),
  });
  if (!d.verifyQueue) {
    throw new AppError(ErrorCode.Misconfigured, 'EKB_VERIFY_QUEUE_URL is not set for the jobs API');
  }
  const now = d.now?.() ?? new Date();
  const runId = `v${(d.newJobId ?? newJobId)(now)}`;
  await startVerifyRun(request, runId, {
    reports: d.store,
    queue: d.verifyQueue,
    ...(d.reportPrefix === undefined ? {} : { reportPrefix: d.reportPrefix }),
    now: () => now,
  });
  const status = `/verify-jobs/${runId}`;
  return jsonResponse(
    202,
    { runId, scope: request.scope, deep: request.deep, status },
    { headers: { location: status } },
  );
}

export async function getVerifyJob(
  event: HttpApiEvent,
  runId: string,
  d: VerifyRouteDeps,
): Promise<ApiResponse> {
  const status = await getVerifyStatus(runId, { reports: d.store, texts: d.index });
  if (status === undefined) {
    throw new AppError(ErrorCode.NotFound, `there is no verify run ${runId}`, { status: 404 });
  }
  return jsonResponse(200, status, { gzip: acceptsGzip(event.headers) });
}
