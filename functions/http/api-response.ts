/**
 * Shared answers for the API Gateway HTTP API (payload v2) handlers: JSON responses that are never cached, and the
 * one mapping from a thrown error to a safe response.
 *
 * Error body, for every status: `{"error": {"code": "...", "message": "...", "requestId": "..."}}`.
 * 4xx show the AppError's own message (it names the bad item and field); 5xx show a fixed message per kind, so no
 * upstream text, stack, token or URL can reach a caller. The real error goes to the redacting logger.
 */
import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AppError, EkuaibaoAuthError, EkuaibaoError, TooLargeError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import { redactText } from '../core/util/redact.js';

export type ApiResponse = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
};

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Every answer may carry signed URLs or job state: no shared cache may keep it. */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': JSON_CONTENT_TYPE,
  'cache-control': 'no-store',
};

/**
 * A synchronous Lambda answer (the whole invoke response, base64 body included) may not exceed 6 MB; keep
 * headroom for the status line, headers and the JSON envelope Lambda wraps around the body.
 */
export const MAX_LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024 - 64 * 1024;

/** Bodies below this size are sent as is even when the caller accepts gzip: not worth the CPU. */
export const GZIP_MIN_BYTES = 256 * 1024;

export interface JsonResponseOptions {
  headers?: Record<string, string>;
  /** The caller sent `Accept-Encoding: gzip` (see acceptsGzip): large bodies are then compressed. */
  gzip?: boolean;
}

/**
 * A JSON response with the base headers. Large bodies are gzipped when the caller accepts it (signed URLs of one
 * tenant share a long STS token, so they compress well). Throws TooLargeError when the answer cannot fit in one
 * Lambda response even so: a clear 413 beats Lambda's opaque 502 for an oversized payload.
 */
export function jsonResponse(
  statusCode: number,
  body: unknown,
  options: JsonResponseOptions = {},
): ApiResponse {
  return textResponse(statusCode, JSON.stringify(body), JSON_CONTENT_TYPE, options);
}

/** Any text answer (JSON lines, CSV) with the base headers, gzipped and size-checked like jsonResponse. */
export function textResponse(
  statusCode: number,
  text: string,
  contentType: string,
  options: JsonResponseOptions = {},
): ApiResponse {
  const headers = { ...BASE_HEADERS, 'content-type': contentType, ...options.headers };
  const size = Buffer.byteLength(text, 'utf8');
  if (options.gzip === true && size >= GZIP_MIN_BYTES) {
    const zipped = gzipSync(text).toString('base64');
    if (zipped.length > MAX_LAMBDA_RESPONSE_BYTES) throw tooLargeAnswer(size);
    return {
      statusCode,
      headers: { ...headers, 'content-encoding': 'gzip', vary: 'accept-encoding' },
      body: zipped,
      isBase64Encoded: true,
    };
  }
  if (size > MAX_LAMBDA_RESPONSE_BYTES) throw tooLargeAnswer(size, options.gzip !== true);
  return { statusCode, headers, body: text, isBase64Encoded: false };
}

function tooLargeAnswer(size: number, suggestGzip = false): TooLargeError {
  return new TooLargeError(
    `the answer is ${size} bytes, more than one response can carry (about 6 MB); send fewer items per request` +
      (suggestGzip ? ' or send "Accept-Encoding: gzip"' : ''),
  );
}

export interface ErrorBody {
  error: { code: string; message: string; requestId?: string };
}

export function errorResponse(
  statusCode: number,
  code: string,
  message: string,
  requestId?: string,
  headers?: Record<string, string>,
): ApiResponse {
  const body: ErrorBody = { error: { code, message, ...(requestId ? { requestId } : {}) } };
  return {
    statusCode,
    headers: { ...BASE_HEADERS, ...headers },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** What a caller may see of a failure: a status, a stable code and a message that holds nothing secret. */
export interface PublicFailure {
  status: number;
  code: string;
  message: string;
}

/** Decides by class, code and status, never by message text. */
export function publicFailure(error: unknown): PublicFailure {
  if (error instanceof AppError && error.status >= 400 && error.status < 500) {
    return { status: error.status, code: error.code, message: redactText(error.message) };
  }
  if (error instanceof EkuaibaoAuthError) {
    return {
      status: 502,
      code: 'upstream_auth',
      message: '合思 refused this service’s credentials; an operator must check them',
    };
  }
  if (error instanceof AppError && error.code === 'aborted') {
    return {
      status: 503,
      code: 'aborted',
      message: 'the request was cancelled before it finished; try again',
    };
  }
  if (error instanceof AppError && error.status === 504) {
    return {
      status: 504,
      code: error instanceof EkuaibaoError ? 'upstream_timeout' : 'timeout',
      message:
        error instanceof EkuaibaoError
          ? 'the 合思 Open API did not answer in time; try again later'
          : 'the request did not finish in time; try again later',
    };
  }
  if (error instanceof AppError && error.status === 503) {
    return {
      status: 503,
      code: 'upstream_unavailable',
      message:
        error instanceof EkuaibaoError
          ? 'the 合思 Open API is throttling requests or unavailable; try again later'
          : 'a service this API depends on is unavailable; try again later',
    };
  }
  if (error instanceof AppError && error.status === 502) {
    return {
      status: 502,
      code: 'upstream_error',
      message:
        error instanceof EkuaibaoError
          ? 'the 合思 Open API failed to answer; try again later'
          : 'a service this API depends on failed; try again later',
    };
  }
  return {
    status: 500,
    code: 'internal_error',
    message: 'internal error; quote the request id when you report it',
  };
}

/**
 * Maps any thrown value to a safe API response. 5xx are logged at error level with the (redacted) real error,
 * 4xx at debug (the handler's summary line carries their status and code).
 */
export function toApiResponse(error: unknown, logger: Logger, requestId?: string): ApiResponse {
  const failure = publicFailure(error);
  const fields = {
    status: failure.status,
    code: failure.code,
    ...(requestId ? { requestId } : {}),
    error: errorForLog(error),
  };
  if (failure.status >= 500) logger.error('request failed', fields);
  else logger.debug('request refused', fields);
  return errorResponse(failure.status, failure.code, failure.message, requestId);
}

/** Name, code, status and message (redacted again by the logger) plus details; never the stack. */
function errorForLog(error: unknown): unknown {
  if (!(error instanceof Error)) return { thrown: typeof error, value: String(error).slice(0, 300) };
  const out: Record<string, unknown> = { name: error.name, message: redactText(error.message) };
  if (error instanceof AppError) {
    out.code = error.code;
    out.status = error.status;
    out.retryable = error.retryable;
    if (error.details !== undefined) out.details = error.details;
  }
  if (error.cause !== undefined) out.cause = error.cause;
  return out;
}
