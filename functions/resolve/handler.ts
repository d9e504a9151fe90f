/**
 * POST /attachments/download-urls (API Gateway HTTP API, payload v2, IAM auth): 合思's downloadurls, without its
 * 100-item limit, so that an existing client only changes its base URL.
 *
 * Request: the vendor's body, a bare JSON array of `{id, key, expiration?}` (see resolve-request.ts): up to
 * EKB_RESOLVE_MAX_REFS items (default 5,000; more → 413), a raw body up to 2 MiB (more → 413), Content-Type
 * application/json or none (else 415). `expiration` may differ per item: one upstream resolve per distinct value.
 * `id` may be a string or a number and is echoed back exactly as sent.
 * Answer 200: the vendor's bare array of `{id, key, url, thumbUrl, headers?}` for the refs found, in request order
 * (duplicates answered at each position), plus fileName/fileType/fileSize/expiresAt; refs not found are left out
 * as the vendor does, and counted in the `x-ekb-not-found-count` header. `?report=full` answers
 * `{"items": [...], "notFound": [{index, id, key}]}` instead (see resolve-response.ts).
 * A Lambda answer may not exceed 6 MB and vendor URLs are ~1.1 KB each: when the caller sends
 * `Accept-Encoding: gzip`, large answers are gzipped (5,000 refs fit); an answer too big even so → 413.
 * Errors: `{"error": {code, message, requestId}}`; 400 names the item (from 0) and the field; 502 upstream or
 * credentials failure, 503 throttled, 504 timeout; anything else a generic 500. Every answer is `no-store`.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithRequestContext, Context } from 'aws-lambda';
import { loadConfig } from '../config.js';
import { parseReportMode, parseResolveRequestBody } from '../core/attachments/resolve-request.js';
import {
  buildResolveAnswer,
  formatResolveBody,
  resolveAnswerHeaders,
} from '../core/attachments/resolve-response.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import {
  acceptsGzip,
  decodeBody,
  queryParam,
  requestIdOf,
  requireJsonContentType,
} from '../http/api-request.js';
import { type ApiResponse, jsonResponse, toApiResponse } from '../http/api-response.js';
import { createLogger } from '../logger.js';
import { depsFromConfig, type ResolveHandlerDeps } from './deps.js';
import {
  DEFAULT_RESOLVE_DEADLINE_MARGIN_MS,
  deadlineFromContext,
  resolveRequestItems,
} from './resolve-items.js';

export type ResolveEvent = APIGatewayProxyEventV2WithRequestContext<{ requestId?: string }>;

/** `deps` may be a function: the deployed handler builds them on first use, so bad config is a 500, not a crash. */
export function createHandler(
  deps: ResolveHandlerDeps | (() => ResolveHandlerDeps),
  bootLogger: Logger = createLogger({ service: 'resolve' }),
) {
  return middy(async (event: ResolveEvent, context: Context): Promise<ApiResponse> => {
    const started = performance.now();
    const requestId = requestIdOf(event, context);
    let d: ResolveHandlerDeps;
    try {
      d = typeof deps === 'function' ? deps() : deps;
    } catch (err) {
      const misconfigured = new AppError('misconfigured', 'resolve function cannot start', { cause: err });
      return toApiResponse(misconfigured, bootLogger.child({ requestId }), requestId);
    }
    const log = d.logger.child({ requestId });
    const counts = { refs: 0, found: 0, notFound: 0 };
    const deadline = deadlineFromContext(context, d.deadlineMarginMs ?? DEFAULT_RESOLVE_DEADLINE_MARGIN_MS);
    let response: ApiResponse;
    try {
      requireJsonContentType(event.headers);
      const mode = parseReportMode(queryParam(event, 'report'));
      const body = decodeBody(event, d.maxBodyBytes === undefined ? {} : { maxBytes: d.maxBodyBytes });
      const items = parseResolveRequestBody(body, { maxRefs: d.maxRefs });
      counts.refs = items.length;
      const answer = buildResolveAnswer(items, await resolveRequestItems(items, d.resolver, deadline.signal));
      counts.found = answer.items.length;
      counts.notFound = answer.notFound.length;
      response = jsonResponse(200, formatResolveBody(answer, mode), {
        headers: resolveAnswerHeaders(answer),
        gzip: acceptsGzip(event.headers),
      });
    } catch (err) {
      response = toApiResponse(err, log, requestId);
    } finally {
      deadline.dispose();
    }
    log.info('resolve request', {
      status: response.statusCode,
      ...counts,
      ms: Math.round(performance.now() - started),
    });
    return response;
  });
}

let built: ResolveHandlerDeps | undefined;

export const handler = createHandler(() => {
  built ??= depsFromConfig(loadConfig());
  return built;
});
