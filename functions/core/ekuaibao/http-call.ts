/**
 * One 合思 Open API call over HTTP: the request under its own deadline, the body read within a size limit, JSON
 * parsed, errors mapped, and bounded retries with backoff for 429, 5xx, timeouts and connection failures. 401/403
 * are not retried here: they come out as AuthRefused for the auth layer (auth.ts) to handle.
 */
import type { Readable } from 'node:stream';
import { type Dispatcher, request } from 'undici';
import { AbortedError, AppError, type EkuaibaoError, ErrorCode } from '../errors.js';
import type { Logger } from '../ports.js';
import {
  abortableSleep,
  type BackoffPolicy,
  parseRetryAfter,
  retryDelay,
  type Sleep,
} from '../util/backoff.js';
import { redactText } from '../util/redact.js';
import {
  badResponse,
  deadlineError,
  describeHttpError,
  httpError,
  type ParsedErrorBody,
  parseErrorBody,
  transportError,
} from './upstream-errors.js';

/** Error bodies are read up to this many bytes (enough for any vendor message); the rest is dropped. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** A 100-form getApplyList page is a few MB at most; anything far larger is not an answer we can use. */
const SUCCESS_BODY_LIMIT = 64 * 1024 * 1024;
const JSON_HEADERS = { accept: 'application/json', 'content-type': 'application/json' };

/** Counters for metrics and benchmarks: upstream HTTP requests sent (every attempt counts). */
export interface EkuaibaoClientStats {
  tokenFetches: number;
  downloadUrlCalls: number;
  applyListCalls: number;
  flowDetailsCalls: number;
  /** Form-package calls: flowDetails/attachment, INVOICE/search, INVOICE/url, getFlowsPdf. */
  flowAttachmentCalls: number;
  invoiceSearchCalls: number;
  invoiceUrlCalls: number;
  flowsPdfCalls: number;
  /** Attempts after the first, for transient faults and for refused tokens. */
  retries: number;
  /** Data calls repeated with a new token after 401/403. */
  authRetries: number;
}

export type CallCounter =
  | 'tokenFetches'
  | 'downloadUrlCalls'
  | 'applyListCalls'
  | 'flowDetailsCalls'
  | 'flowAttachmentCalls'
  | 'invoiceSearchCalls'
  | 'invoiceUrlCalls'
  | 'flowsPdfCalls';

export interface CallSpec {
  route: string;
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | undefined>;
  json?: unknown;
  signal?: AbortSignal;
  counter: CallCounter;
  /** Statuses handed back to the caller instead of thrown (412 for flowDetails), with the error body read. */
  passStatuses?: readonly number[];
  /**
   * A 2xx answer's body is handed back unread as `stream` (getFlowsPdf's PDF), for the caller to consume or
   * destroy; the per-attempt deadline then covers the headers only (the agent's body timeout covers the rest).
   */
  stream?: boolean;
  /** Extra fields for the debug line (e.g. items). */
  logFields?: Record<string, unknown>;
}

export interface CallResult {
  status: number;
  body: unknown;
  /** The unread body of a 2xx answer to a `stream` call, and its headers. */
  stream?: Readable;
  headers?: Record<string, string | string[] | undefined>;
  /** The error body of a passed-through non-2xx status (scrubbed). */
  error?: ParsedErrorBody;
}

/** 401/403 from 合思: handled by the auth layer, never shown to callers as is. */
export class AuthRefused extends AppError {
  constructor(
    readonly route: string,
    readonly upstreamStatus: number,
    readonly parsed: ParsedErrorBody,
  ) {
    super(ErrorCode.EkuaibaoAuth, describeHttpError(route, upstreamStatus, parsed), { status: 502 });
  }
}

/**
 * Known secret values, scrubbed from any upstream text we keep (a server may echo the token or the secret). App
 * secrets and tokens are kept apart so that token renewals never push the app secret out.
 */
export class SecretScrubber {
  readonly #appSecrets: string[] = [];
  readonly #tokens: string[] = [];

  rememberAppSecret(secret: string): void {
    remember(this.#appSecrets, secret, 8);
  }

  rememberToken(token: string): void {
    remember(this.#tokens, token, 16);
  }

  readonly scrub = (text: string): string => {
    let out = text;
    for (const s of [...this.#appSecrets, ...this.#tokens]) out = out.split(s).join('[redacted]');
    return redactText(out);
  };
}

function remember(list: string[], secret: string, keep: number): void {
  if (secret.length < 4) return;
  for (const s of [secret, encodeURIComponent(secret)]) {
    if (!list.includes(s)) list.push(s);
  }
  if (list.length > keep) list.splice(0, list.length - keep);
}

export interface HttpCallOptions {
  baseUrl: string;
  dispatcher: Dispatcher;
  maxAttempts: number;
  /** Longest one attempt may take, headers and body together. */
  requestTimeoutMs: number;
  backoff: BackoffPolicy;
  now: () => number;
  sleep: Sleep;
  random: () => number;
  log: Logger;
  stats: EkuaibaoClientStats;
  secrets: SecretScrubber;
}

/** A failed attempt worth another try, with the server's Retry-After when it sent one. */
interface Retry {
  retry: EkuaibaoError;
  retryAfterMs?: number;
}

export type SendCall = (spec: CallSpec, token?: string) => Promise<CallResult>;

export const abortedBy = (signal: AbortSignal | undefined): AbortedError =>
  new AbortedError('aborted', signal?.reason);

/** The `send` function every endpoint goes through: one call with bounded retries (see the file comment). */
export function createHttpCall(o: HttpCallOptions): SendCall {
  const buildUrl = (path: string, query: Record<string, string | undefined> = {}): string => {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, v);
    const s = qs.toString();
    return `${o.baseUrl}${path}${s ? `?${s}` : ''}`;
  };

  // Native timer: undici's idle timeouts tick at ~0.5 s resolution and never bound a trickling body.
  async function attempt(
    spec: CallSpec,
    url: string,
    n: number,
    payload?: string,
  ): Promise<CallResult | Retry> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), o.requestTimeoutMs);
    try {
      return await exchange(o, spec, url, n, payload, deadline.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  return async function send(spec, token) {
    const { signal } = spec;
    const url = buildUrl(spec.path, token === undefined ? spec.query : { ...spec.query, accessToken: token });
    const payload = spec.json === undefined ? undefined : JSON.stringify(spec.json);
    for (let n = 1; ; n++) {
      if (signal?.aborted) throw abortedBy(signal);
      o.stats[spec.counter]++;
      if (n > 1) o.stats.retries++;
      const outcome = await attempt(spec, url, n, payload);
      if (!('retry' in outcome)) return outcome;
      if (n >= o.maxAttempts) throw outcome.retry;
      await abortableSleep(o.sleep, retryDelay(n, outcome.retryAfterMs, o.backoff, o.random), signal);
    }
  };
}

/** One HTTP exchange: the answer, or a Retry; throws what must not be retried. */
async function exchange(
  o: HttpCallOptions,
  spec: CallSpec,
  url: string,
  n: number,
  payload: string | undefined,
  deadline: AbortSignal,
): Promise<CallResult | Retry> {
  const { signal } = spec;
  const started = performance.now();
  const line = (fields: Record<string, unknown>): void =>
    o.log.debug('ekuaibao call', {
      route: spec.route,
      method: spec.method,
      attempt: n,
      ms: Math.round(performance.now() - started),
      ...spec.logFields,
      ...fields,
    });
  const transportFailure = (err: unknown): Retry => {
    if (signal?.aborted) throw abortedBy(signal);
    const failure = deadline.aborted
      ? deadlineError(spec.route, o.requestTimeoutMs)
      : transportError(spec.route, err, o.secrets.scrub);
    line({ error: failure.details?.errorCode ?? 'unknown' });
    if (!failure.retryable) throw failure;
    return { retry: failure };
  };

  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: spec.method,
      headers: payload === undefined ? { accept: 'application/json' } : JSON_HEADERS,
      body: payload,
      dispatcher: o.dispatcher,
      signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
      headersTimeout: o.requestTimeoutMs,
      bodyTimeout: o.requestTimeoutMs,
    });
  } catch (err) {
    return transportFailure(err);
  }
  const status = res.statusCode;
  if (spec.stream && status >= 200 && status < 300) {
    line({ status });
    return { status, body: undefined, stream: res.body, headers: res.headers };
  }
  const ok = (status >= 200 && status < 300) || (spec.passStatuses?.includes(status) ?? false);
  let text: string;
  let tooBig: boolean;
  try {
    [text, tooBig] = await readBody(res.body, ok ? SUCCESS_BODY_LIMIT : ERROR_BODY_LIMIT);
  } catch (err) {
    return transportFailure(err);
  }
  line({ status });
  if (ok && (status < 200 || status >= 300)) {
    return { status, body: undefined, error: parseErrorBody(text, o.secrets.scrub) };
  }
  if (ok) return okResult(spec.route, status, text, tooBig);

  const parsed = parseErrorBody(text, o.secrets.scrub);
  if (status === 401 || status === 403) throw new AuthRefused(spec.route, status, parsed);
  // 429 and 5xx are worth another try; any other 4xx is our mistake or a permanent answer.
  const retryable = status === 429 || status >= 500;
  const failure = httpError(spec.route, status, parsed, retryable);
  if (!retryable) throw failure;
  const retryAfterMs = parseRetryAfter(res.headers['retry-after'], o.now());
  return retryAfterMs === undefined ? { retry: failure } : { retry: failure, retryAfterMs };
}

function okResult(route: string, status: number, text: string, tooBig: boolean): CallResult {
  if (tooBig) throw badResponse(route, `body larger than ${SUCCESS_BODY_LIMIT} bytes`);
  if (status < 200 || status >= 300 || text.trim() === '') return { status, body: undefined };
  try {
    return { status, body: JSON.parse(text) as unknown };
  } catch {
    throw badResponse(route, `HTTP ${status} body is not JSON`);
  }
}

async function readBody(body: Dispatcher.ResponseData['body'], limit: number): Promise<[string, boolean]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const piece of body) {
    const buf = piece as Buffer;
    chunks.push(buf);
    size += buf.length;
    // Leaving the loop destroys the stream: the socket is dropped rather than drained.
    if (size > limit) return [Buffer.concat(chunks).subarray(0, limit).toString('utf8'), true];
  }
  return [Buffer.concat(chunks).toString('utf8'), false];
}
