/**
 * Routing for the jobs API. API Gateway only sends this function `POST /copy-jobs` and `GET /copy-jobs/{jobId}`,
 * but a `$default` route, a proxy or the local stack may send anything: unknown paths are 404, a known path with
 * the wrong method is 405 with `Allow`, and the job id is taken from the path itself and checked before use.
 */
import { AppError, ValidationError } from '../core/errors.js';

export type JobsRoute = { name: 'create' } | { name: 'status'; jobId: string };

export class MethodNotAllowedError extends AppError {
  readonly allow: string;
  constructor(method: string, allow: string) {
    super('method_not_allowed', `${method} is not allowed here; use ${allow}`, { status: 405 });
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

export function matchJobsRoute(input: RouteInput): JobsRoute {
  const { method, rawPath, routeKey, pathParameters } = input;
  // A declared route is decisive (its rawPath may carry a stage name); only $default needs the path parsed.
  if (routeKey === 'POST /copy-jobs') return { name: 'create' };
  if (routeKey === 'GET /copy-jobs/{jobId}' && pathParameters?.jobId !== undefined) {
    return { name: 'status', jobId: pathParameters.jobId };
  }
  const segments = rawPath.split('/').filter((s) => s !== '');
  const upper = method.toUpperCase();
  if (segments.length === 1 && segments[0] === 'copy-jobs') {
    if (upper !== 'POST') throw new MethodNotAllowedError(upper, 'POST');
    return { name: 'create' };
  }
  if (segments.length === 2 && segments[0] === 'copy-jobs') {
    if (upper !== 'GET') throw new MethodNotAllowedError(upper, 'GET');
    let jobId: string;
    try {
      jobId = decodeURIComponent(segments[1] as string);
    } catch {
      throw new ValidationError('the job id in the path is not valid URL encoding');
    }
    return { name: 'status', jobId };
  }
  throw new AppError('not_found', `no route for ${upper} ${rawPath.slice(0, 200)}`, { status: 404 });
}
