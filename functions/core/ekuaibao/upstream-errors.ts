import { EkuaibaoError } from '../errors.js';
import { redactText } from '../util/redact.js';

/** Raw text kept from an error body: enough to diagnose, short enough for a log line or a report cell. */
export const RAW_TEXT_LIMIT = 300;

export interface ParsedErrorBody {
  vendorCode?: string;
  vendorMessage?: string;
  /** The body as text, truncated and redacted; set when no structured fields were found. */
  raw?: string;
}

const asText = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
};

function pick(o: unknown, codeField: string, messageField: string): ParsedErrorBody | undefined {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const rec = o as Record<string, unknown>;
  const vendorCode = asText(rec[codeField]);
  const vendorMessage = asText(rec[messageField]);
  if (vendorCode === undefined && vendorMessage === undefined) return undefined;
  const out: ParsedErrorBody = {};
  if (vendorCode !== undefined) out.vendorCode = vendorCode;
  if (vendorMessage !== undefined) out.vendorMessage = vendorMessage;
  return out;
}

export function truncate(text: string, limit = RAW_TEXT_LIMIT): string {
  const chars = Array.from(text);
  return chars.length <= limit ? text : `${chars.slice(0, limit).join('')}…`;
}

/**
 * 合思 error bodies come in several shapes: `{value:{errorCode,errorMessage}}`, `{errorCode,errorMessage}` (v1/v2),
 * `{code,msg}` (v3) or plain text/HTML. Read them in that order; keep raw text only when nothing else was found.
 * `scrub` removes known secrets (the current token, the app secret) before anything is kept.
 */
export function parseErrorBody(text: string, scrub: (s: string) => string = redactText): ParsedErrorBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const value =
    json !== null && typeof json === 'object' ? (json as Record<string, unknown>).value : undefined;
  const found =
    pick(value, 'errorCode', 'errorMessage') ??
    pick(json, 'errorCode', 'errorMessage') ??
    pick(json, 'code', 'msg') ??
    pick(json, 'code', 'message');
  const clean = (s: string): string => truncate(scrub(s).replace(/\s+/g, ' '));
  if (found) {
    const out: ParsedErrorBody = {};
    if (found.vendorCode !== undefined) out.vendorCode = clean(found.vendorCode);
    if (found.vendorMessage !== undefined) out.vendorMessage = clean(found.vendorMessage);
    return out;
  }
  const raw = text.trim();
  return raw === '' ? {} : { raw: clean(raw) };
}

/** Human text for an upstream HTTP error: status, then vendor code/message, then raw text. */
export function describeHttpError(route: string, status: number, parsed: ParsedErrorBody): string {
  const code = parsed.vendorCode !== undefined ? ` [${parsed.vendorCode}]` : '';
  const text = parsed.vendorMessage ?? parsed.raw;
  return `合思 ${route} answered HTTP ${status}${code}${text ? `: ${text}` : ''}`;
}

/**
 * Maps an upstream HTTP error to the status our API answers with: 429 after all tries → 503 (come back later),
 * everything else → 502 (the upstream failed us).
 */
export function httpError(
  route: string,
  status: number,
  parsed: ParsedErrorBody,
  retryable: boolean,
  cause?: unknown,
): EkuaibaoError {
  return new EkuaibaoError(`ekuaibao_http_${status}`, describeHttpError(route, status, parsed), {
    status: status === 429 ? 503 : 502,
    retryable,
    cause,
    details: { route, upstreamStatus: status, ...parsed },
  });
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

// Connection-level failures a second try can fix. ENOTFOUND is left out: a wrong host name will not heal.
const NETWORK_RETRY_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

export function errorCodeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Turns a thrown transport error into an EkuaibaoError: timeouts → 504, connection failures → 502. */
export function transportError(route: string, err: unknown, scrub: (s: string) => string): EkuaibaoError {
  const code = errorCodeOf(err);
  const what = err instanceof Error ? scrub(err.message) : 'unknown error';
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new EkuaibaoError('ekuaibao_timeout', `合思 ${route} timed out (${code})`, {
      status: 504,
      retryable: true,
      details: { route, errorCode: code },
    });
  }
  const retryable = code !== undefined && NETWORK_RETRY_CODES.has(code);
  return new EkuaibaoError(
    'ekuaibao_network',
    `合思 ${route} could not be reached (${code ?? 'no code'}: ${truncate(what)})`,
    { status: 502, retryable, details: { route, errorCode: code } },
  );
}

/** Our own per-attempt deadline fired before the answer was complete. */
export function deadlineError(route: string, ms: number): EkuaibaoError {
  return new EkuaibaoError('ekuaibao_timeout', `合思 ${route} did not answer within ${ms} ms`, {
    status: 504,
    retryable: true,
    details: { route, errorCode: 'deadline', timeoutMs: ms },
  });
}

export function badResponse(route: string, why: string): EkuaibaoError {
  return new EkuaibaoError('ekuaibao_bad_response', `合思 ${route} sent an answer we cannot read: ${why}`, {
    status: 502,
    retryable: false,
    details: { route },
  });
}
