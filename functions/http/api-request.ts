/**
 * Reading an API Gateway HTTP API (payload v2) request: headers (case-insensitive), query parameters, the body
 * (base64 decoded when API Gateway says so, size-bounded, strict UTF-8) and the JSON content-type check.
 * Errors are AppErrors with 4xx statuses, so toApiResponse shows their message to the caller.
 */
import type { APIGatewayProxyEventV2WithRequestContext } from 'aws-lambda';
import { AppError, TooLargeError, ValidationError } from '../core/errors.js';

/** The parts of a v2 event these helpers read; any authorizer shape fits. */
export type HttpApiEvent = Pick<
  APIGatewayProxyEventV2WithRequestContext<{ requestId?: string }>,
  'headers' | 'body' | 'isBase64Encoded' | 'queryStringParameters' | 'requestContext'
>;

/** Default raw body limit: 5,000 refs with long DP: keys stay well under it; API Gateway itself stops at 10 MB. */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

/** The request's Content-Type is present and is not JSON (415). */
export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super('unsupported_media_type', message, { status: 415, retryable: false });
  }
}

/** A header by name, whatever its case (API Gateway lowercases v2 headers; tests and proxies may not). */
export function headerValue(
  headers: Record<string, string | undefined> | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const direct = headers[name.toLowerCase()];
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/**
 * Accepts a missing Content-Type (curl -d without -H still sends JSON) and `application/json` or any
 * `application/*+json`, with any parameters; anything else is 415.
 */
export function requireJsonContentType(headers: Record<string, string | undefined> | undefined): void {
  const raw = headerValue(headers, 'content-type');
  if (raw === undefined || raw.trim() === '') return;
  const media = (raw.split(';')[0] ?? '').trim().toLowerCase();
  if (media === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(media)) return;
  throw new UnsupportedMediaTypeError(
    `Content-Type must be application/json (got "${truncateForMessage(raw)}")`,
  );
}

export interface DecodeBodyOptions {
  /** Largest decoded body accepted, bytes (default 2 MiB). */
  maxBytes?: number;
}

/**
 * The body as text. The size is checked on the raw (and, for base64, the decoded) length before any parsing,
 * so an oversized body costs no JSON work. Missing body → ''. Bytes that are not UTF-8 → ValidationError.
 */
export function decodeBody(
  event: Pick<HttpApiEvent, 'body' | 'isBase64Encoded'>,
  options: DecodeBodyOptions = {},
): string {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BODY_BYTES;
  const raw = event.body;
  if (raw === undefined || raw === null || raw === '') return '';
  let bytes: Buffer;
  if (event.isBase64Encoded) {
    // Four base64 characters carry three bytes: reject before allocating when even the best case is too big.
    if (Math.floor((raw.length * 3) / 4) - 2 > maxBytes) throw tooLargeBody(maxBytes);
    if (!/^[A-Za-z0-9+/\-_\s]*={0,2}\s*$/.test(raw)) {
      throw new ValidationError('body is marked base64-encoded but is not valid base64');
    }
    bytes = Buffer.from(raw, 'base64');
  } else {
    // A JS string of n UTF-16 units is at least n bytes only for ASCII; measure the real UTF-8 length.
    if (raw.length > maxBytes || Buffer.byteLength(raw, 'utf8') > maxBytes) throw tooLargeBody(maxBytes);
    return raw;
  }
  if (bytes.length > maxBytes) throw tooLargeBody(maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ValidationError('body is not valid UTF-8 text');
  }
}

function tooLargeBody(maxBytes: number): TooLargeError {
  return new TooLargeError(`body is larger than ${maxBytes} bytes`);
}

/** One query parameter; repeated parameters arrive comma-joined in v2 and are returned as sent. */
export function queryParam(
  event: Pick<HttpApiEvent, 'queryStringParameters'>,
  name: string,
): string | undefined {
  return event.queryStringParameters?.[name];
}

/** The caller accepts a gzip-encoded answer (`Accept-Encoding: gzip`, not `gzip;q=0`). */
export function acceptsGzip(headers: Record<string, string | undefined> | undefined): boolean {
  const raw = headerValue(headers, 'accept-encoding');
  if (!raw) return false;
  return raw.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding?.trim() !== 'gzip') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** API Gateway's request id (also in its access logs), else the Lambda request id, else a fresh one. */
export function requestIdOf(
  event: Pick<HttpApiEvent, 'requestContext'> | undefined,
  context?: { awsRequestId?: string },
): string {
  const fromGateway = event?.requestContext?.requestId;
  if (typeof fromGateway === 'string' && fromGateway !== '') return fromGateway;
  if (context?.awsRequestId) return context.awsRequestId;
  return crypto.randomUUID();
}

function truncateForMessage(text: string, limit = 100): string {
  const chars = Array.from(text);
  return chars.length <= limit ? text : `${chars.slice(0, limit).join('')}…`;
}
