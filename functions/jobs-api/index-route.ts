/**
 * GET /copy-jobs/{jobId}/index: the job's file index (every copied or found file's proof record), as JSON lines
 * (default, `application/x-ndjson`) or CSV (`?format=csv` or `Accept: text/csv`). An API Gateway answer is one
 * Lambda response (≤ 6 MB), so a large job comes in pages of whole batches: when more follow, the answer carries
 * `x-ekb-next-after` and a `Link: <…>; rel="next"` to ask for them (`?after=<batchId>`). `ekb-archive job <id>
 * --index` reads the bucket directly and streams the whole index.
 */
import { AppError, ErrorCode, ValidationError } from '../core/errors.js';
import { type IndexFormat, readIndexPage } from '../core/jobs/file-index.js';
import { assertValidJobId, isValidJobId, jobRecordKey } from '../core/jobs/keys.js';
import type { ReportStore, TextStore } from '../core/ports.js';
import { acceptsGzip, type HttpApiEvent, headerValue, queryParam } from '../http/api-request.js';
import { type ApiResponse, textResponse } from '../http/api-response.js';

/** Uncompressed bytes per page: well under a Lambda response, even without gzip. */
export const INDEX_PAGE_BYTES = 4 * 1024 * 1024;

const CONTENT_TYPES: Record<IndexFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

export interface IndexRouteDeps {
  store: ReportStore;
  index: TextStore;
  reportPrefix?: string;
  indexPageBytes?: number;
}

function formatOf(event: HttpApiEvent): IndexFormat {
  const asked = queryParam(event, 'format');
  if (asked !== undefined) {
    if (asked === 'csv' || asked === 'ndjson') return asked;
    throw new ValidationError(`"format" must be ndjson or csv (got ${JSON.stringify(asked.slice(0, 40))})`);
  }
  const accept = headerValue(event.headers, 'accept') ?? '';
  return /\btext\/csv\b/i.test(accept) ? 'csv' : 'ndjson';
}

export async function getJobIndex(
  event: HttpApiEvent,
  jobId: string,
  d: IndexRouteDeps,
): Promise<ApiResponse> {
  assertValidJobId(jobId);
  const format = formatOf(event);
  const after = queryParam(event, 'after');
  if (after !== undefined && !isValidJobId(after)) {
    throw new ValidationError('"after" must be a batch id from x-ekb-next-after (letters, digits, - and _)');
  }
  if ((await d.store.getJson(jobRecordKey(jobId, d.reportPrefix))) === undefined) {
    throw new AppError(ErrorCode.JobNotFound, `there is no job ${jobId}`, { status: 404 });
  }
  const page = await readIndexPage(jobId, d.index, {
    ...(d.reportPrefix === undefined ? {} : { reportPrefix: d.reportPrefix }),
    ...(after === undefined ? {} : { after }),
    maxBytes: d.indexPageBytes ?? INDEX_PAGE_BYTES,
    format,
  });
  const headers: Record<string, string> = { 'x-ekb-index-lines': String(page.lines) };
  if (page.next !== undefined) {
    const next = `/copy-jobs/${encodeURIComponent(jobId)}/index?format=${format}&after=${page.next}`;
    headers['x-ekb-next-after'] = page.next;
    headers.link = `<${next}>; rel="next"`;
  }
  return textResponse(200, page.text, CONTENT_TYPES[format], { headers, gzip: acceptsGzip(event.headers) });
}
