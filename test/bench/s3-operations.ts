/**
 * Names the S3 operation a path-style request is (what s3rver serves in the bench), so a run's requests can be
 * tallied per operation. Keys under the report prefix (jobs/) are told apart: those are the CLI's job records and
 * batch reports, not archived files.
 */

const REPORT_PREFIX = 'jobs/';

/** e.g. `PUT object`, `HEAD object`, `list`, `upload part`, `PUT object (jobs/)`. */
export function s3OperationOf(method: string, url: string): string {
  const u = new URL(url, 'http://s3.invalid');
  const q = u.searchParams;
  // Path style: /<bucket>/<key...>; the key keeps its slashes.
  const rest = u.pathname.replace(/^\/+/, '');
  const slash = rest.indexOf('/');
  const key = slash < 0 ? '' : decodeURIComponentSafe(rest.slice(slash + 1));
  const lane = key.startsWith(REPORT_PREFIX) ? ` (${REPORT_PREFIX})` : '';
  if (key === '') {
    if (method === 'GET' && q.has('location')) return 'get bucket location';
    if (method === 'GET') return 'list';
    if (method === 'HEAD') return 'head bucket';
    if (method === 'PUT') return 'create bucket';
    return `${method} bucket`;
  }
  if (method === 'POST' && q.has('uploads')) return `create multipart${lane}`;
  if (method === 'PUT' && q.has('uploadId')) return `upload part${lane}`;
  if (method === 'POST' && q.has('uploadId')) return `complete multipart${lane}`;
  if (method === 'DELETE' && q.has('uploadId')) return `abort multipart${lane}`;
  if (method === 'PUT' && q.has('x-id') && q.get('x-id') === 'CopyObject') return `copy object${lane}`;
  return `${method} object${lane}`;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
