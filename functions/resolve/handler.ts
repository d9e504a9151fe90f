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
import type { APIGatewayProxyEventV2WithRequestContext } from 'aws-lambda';
import { fromEnvironment } from '../compose/composition.js';
import { resolveHandlerDeps } from '../compose/ekuaibao.js';
import { parseReportMode, parseResolveRequestBody } from '../core/attachments/resolve-request.js';
import {
  buildResolveAnswer,
  formatResolveBody,
  resolveAnswerHeaders,
} from '../core/attachments/resolve-response.js';
import type { DownloadUrlResolver } from '../core/ports.js';
import { acceptsGzip, decodeBody, queryParam, requireJsonContentType } from '../http/api-request.js';
import { type ApiResponse, jsonResponse } from '../http/api-response.js';
import { createLogger } from '../logger.js';
import { type ApiContext, type ApiDeps, apiMiddleware } from '../middleware/api-request.js';
import { asLambdaHandler, type DepsSource } from '../middleware/lazy-deps.js';
import { resolveRequestItems } from './resolve-items.js';

export type ResolveEvent = APIGatewayProxyEventV2WithRequestContext<{ requestId?: string }>;

export interface ResolveHandlerDeps extends ApiDeps {
  resolver: DownloadUrlResolver;
  /** Most refs one request may carry (config.resolveMaxRefs, default 5,000); more → 413. */
  maxRefs: number;
  /** Largest raw body accepted, bytes (default 2 MiB); more → 413. */
  maxBodyBytes?: number;
}

/** `deps` may be a function: the deployed handler builds them on first use, so bad config is a 500, not a crash. */
export function createHandler(
  deps: DepsSource<ResolveHandlerDeps>,
  bootLogger = createLogger({ service: 'resolve' }),
) {
  const handler = middy<ResolveEvent, ApiResponse, Error, ApiContext<ResolveHandlerDeps>>()
    .use(
      apiMiddleware({
        deps,
        bootLogger,
        summary: 'resolve request',
        fields: () => ({ refs: 0, found: 0, notFound: 0 }),
      }),
    )
    .handler(async (event, context) => {
      const { deps: d, logFields: counts } = context;
      requireJsonContentType(event.headers);
      const mode = parseReportMode(queryParam(event, 'report'));
      const body = decodeBody(event, d.maxBodyBytes === undefined ? {} : { maxBytes: d.maxBodyBytes });
      const items = parseResolveRequestBody(body, { maxRefs: d.maxRefs });
      counts.refs = items.length;
      const answer = buildResolveAnswer(items, await resolveRequestItems(items, d.resolver, context.signal));
      counts.found = answer.items.length;
      counts.notFound = answer.notFound.length;
      return jsonResponse(200, formatResolveBody(answer, mode), {
        headers: resolveAnswerHeaders(answer),
        gzip: acceptsGzip(event.headers),
      });
    });
  return asLambdaHandler(handler);
}

export const handler = createHandler(() => resolveHandlerDeps(fromEnvironment('resolve')));
