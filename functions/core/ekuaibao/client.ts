/**
 * The 合思 Open API client: token cache, downloadurls (batched, de-duplicated, matched by id+key), forms listing,
 * retries with backoff, and error mapping. Domain code: no process.env, no AWS, no Lambda types.
 */
import { Agent, type Dispatcher, request } from 'undici';
import { refIdentity } from '../attachments/ref.js';
import { AbortedError, EkuaibaoAuthError, type EkuaibaoError, ValidationError } from '../errors.js';
import type { ApplyListPage, ApplyListQuery, EkuaibaoForm } from '../model/forms.js';
import type { AttachmentRef } from '../model/refs.js';
import { MAX_REFS_PER_CALL, type Resolution } from '../model/resolution.js';
import {
  type CredentialsSource,
  type DownloadUrlResolver,
  type EkuaibaoCredentials,
  type FormsSource,
  type Logger,
  type ResolveOptions,
  silentLogger,
} from '../ports.js';
import {
  abortableSleep,
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  defaultSleep,
  parseRetryAfter,
  retryDelay,
  type Sleep,
} from '../util/backoff.js';
import { chunk } from '../util/chunk.js';
import { runPool } from '../util/pool.js';
import { redactText } from '../util/redact.js';
import { type ListFormsOptions, listForms, validateApplyListQuery } from './forms.js';
import { readAnswerItem, toResolved, uniqueRefs, validateExpiration, validateRefs } from './resolution.js';
import { type AccessToken, TOKEN_REFRESH_MARGIN_MS, TokenCache } from './token-cache.js';
import {
  badResponse,
  deadlineError,
  describeHttpError,
  httpError,
  type ParsedErrorBody,
  parseErrorBody,
  transportError,
} from './upstream-errors.js';

export const DEFAULT_RESOLVE_CONCURRENCY = 4;
/** Tries per call including the first: transient faults get three more chances, then the caller hears. */
export const DEFAULT_MAX_ATTEMPTS = 4;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/** Error bodies are read up to this many bytes (enough for any vendor message); the rest is dropped. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** A 100-form getApplyList page is a few MB at most; anything far larger is not an answer we can use. */
const SUCCESS_BODY_LIMIT = 64 * 1024 * 1024;
/** Used when the token answer has no readable expireTime; the vendor's tokens live about 2 h. */
const FALLBACK_TOKEN_LIFETIME_MS = 60 * 60_000;
const JSON_HEADERS = { accept: 'application/json', 'content-type': 'application/json' };

const PATHS = {
  token: '/api/openapi/v1/auth/getAccessToken',
  downloadurls: '/api/openapi/v2/attachment/downloadurls',
  applyList: '/api/openapi/v1.1/docs/getApplyList',
  flowDetails: '/api/openapi/v1.1/flowDetails',
  flowDetailsByCode: '/api/openapi/v1.1/flowDetails/byCode',
} as const;

export interface EkuaibaoClientOptions {
  /** Tenant base URL, e.g. https://app.ekuaibao.com (a trailing slash is fine). */
  baseUrl: string;
  credentials: CredentialsSource;
  /**
   * Called when 合思 refuses the credentials, so an adapter can drop its cache (a rotated secret). The client then
   * reads the credentials once more and, if they changed, tries them once.
   */
  onCredentialsRejected?: () => void;
  /** downloadurls calls in flight at once (each ≤100 refs). Default 4. */
  resolveConcurrency?: number;
  /** Tries per upstream call, including the first. Default 4. */
  maxAttempts?: number;
  connectTimeoutMs?: number;
  /** Longest one attempt may take, headers and body together (also undici's headers and body timeouts). */
  requestTimeoutMs?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Renew the token this long before expireTime. Default 5 min. */
  tokenRefreshMarginMs?: number;
  /** How long a DP: header signature is accepted after signing. Default 15 min (OSS). */
  dpSignatureTtlMs?: number;
  logger?: Logger;
  /** Clock, epoch ms: token expiry and URL expiresAt. */
  now?: () => number;
  sleep?: Sleep;
  /** [0,1) source for backoff jitter. */
  random?: () => number;
  /** Use this dispatcher instead of the client's own Agent (the client will not close it). */
  dispatcher?: Dispatcher;
}

/** Counters for metrics and benchmarks: upstream HTTP requests sent (every attempt counts). */
export interface EkuaibaoClientStats {
  tokenFetches: number;
  downloadUrlCalls: number;
  applyListCalls: number;
  flowDetailsCalls: number;
  /** Attempts after the first, for transient faults and for refused tokens. */
  retries: number;
  /** Data calls repeated with a new token after 401/403. */
  authRetries: number;
}

export interface EkuaibaoClient extends DownloadUrlResolver, FormsSource {
  /** A valid access token (cached; one fetch shared by concurrent callers). Secret: never log it. */
  getAccessToken(signal?: AbortSignal): Promise<string>;
  /** All forms of one type in a window, page by page with a pause between pages. */
  listForms(options: ListFormsOptions): AsyncGenerator<EkuaibaoForm, void, undefined>;
  readonly stats: Readonly<EkuaibaoClientStats>;
  /** Closes the client's own Agent (not an injected dispatcher). */
  close(): Promise<void>;
}

type Counter = 'tokenFetches' | 'downloadUrlCalls' | 'applyListCalls' | 'flowDetailsCalls';

interface CallSpec {
  route: string;
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | undefined>;
  json?: unknown;
  signal?: AbortSignal;
  counter: Counter;
  /** Statuses handed back to the caller instead of thrown (412 for flowDetails). */
  passStatuses?: readonly number[];
  /** Extra fields for the debug line (e.g. items). */
  logFields?: Record<string, unknown>;
}

interface CallResult {
  status: number;
  body: unknown;
}

/** 401/403 from 合思: handled by the auth layer, never shown to callers as is. */
class AuthRefused extends Error {
  constructor(
    readonly route: string,
    readonly status: number,
    readonly parsed: ParsedErrorBody,
  ) {
    super(describeHttpError(route, status, parsed));
  }
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${name} must be a positive integer (got ${String(value)})`);
  }
  return value;
}

export function createEkuaibaoClient(options: EkuaibaoClientOptions): EkuaibaoClient {
  let base: URL;
  try {
    base = new URL(options.baseUrl);
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new ValidationError(
      `baseUrl must be an http(s) URL (got "${redactText(String(options.baseUrl))}")`,
    );
  }
  const baseUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
  const resolveConcurrency = positiveInt(
    'resolveConcurrency',
    options.resolveConcurrency,
    DEFAULT_RESOLVE_CONCURRENCY,
  );
  const maxAttempts = positiveInt('maxAttempts', options.maxAttempts, DEFAULT_MAX_ATTEMPTS);
  const connectTimeoutMs = positiveInt(
    'connectTimeoutMs',
    options.connectTimeoutMs,
    DEFAULT_CONNECT_TIMEOUT_MS,
  );
  const requestTimeoutMs = positiveInt(
    'requestTimeoutMs',
    options.requestTimeoutMs,
    DEFAULT_REQUEST_TIMEOUT_MS,
  );
  const backoff: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.backoff };
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const log = (options.logger ?? silentLogger).child({ component: 'ekuaibao' });
  const ownAgent = options.dispatcher
    ? undefined
    : new Agent({
        connect: { timeout: connectTimeoutMs },
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
      });
  const dispatcher: Dispatcher = options.dispatcher ?? (ownAgent as Agent);

  const stats: EkuaibaoClientStats = {
    tokenFetches: 0,
    downloadUrlCalls: 0,
    applyListCalls: 0,
    flowDetailsCalls: 0,
    retries: 0,
    authRetries: 0,
  };

  // Known secret values, scrubbed from any upstream text we keep (a server may echo the token or the secret).
  // App secrets and tokens are kept apart so that token renewals never push the app secret out.
  const appSecrets: string[] = [];
  const tokenSecrets: string[] = [];
  const remember = (list: string[], secret: string, keep: number): void => {
    if (secret.length < 4) return;
    for (const s of [secret, encodeURIComponent(secret)]) {
      if (!list.includes(s)) list.push(s);
    }
    if (list.length > keep) list.splice(0, list.length - keep);
  };
  const scrub = (text: string): string => {
    let out = text;
    for (const s of [...appSecrets, ...tokenSecrets]) out = out.split(s).join('[redacted]');
    return redactText(out);
  };

  const buildUrl = (path: string, query: Record<string, string | undefined> = {}): string => {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, v);
    const s = qs.toString();
    return `${baseUrl}${path}${s ? `?${s}` : ''}`;
  };

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

  const aborted = (signal: AbortSignal | undefined): AbortedError =>
    new AbortedError('aborted', signal?.reason);

  /** A failed attempt worth another try, with the server's Retry-After when it sent one. */
  interface Retry {
    retry: EkuaibaoError;
    retryAfterMs?: number;
  }

  /**
   * One HTTP exchange under its own deadline (native timer: undici's idle timeouts tick at ~0.5 s resolution
   * and never bound a trickling body). Returns the answer, or a Retry; throws what must not be retried.
   */
  async function attempt(
    spec: CallSpec,
    url: string,
    n: number,
    payload?: string,
  ): Promise<CallResult | Retry> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), requestTimeoutMs);
    try {
      return await exchange(spec, url, n, payload, deadline.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  async function exchange(
    spec: CallSpec,
    url: string,
    n: number,
    payload: string | undefined,
    deadline: AbortSignal,
  ): Promise<CallResult | Retry> {
    const { signal } = spec;
    const started = performance.now();
    const line = (fields: Record<string, unknown>): void =>
      log.debug('ekuaibao call', {
        route: spec.route,
        method: spec.method,
        attempt: n,
        ms: Math.round(performance.now() - started),
        ...spec.logFields,
        ...fields,
      });
    const transportFailure = (err: unknown): Retry => {
      if (signal?.aborted) throw aborted(signal);
      const failure = deadline.aborted
        ? deadlineError(spec.route, requestTimeoutMs)
        : transportError(spec.route, err, scrub);
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
        dispatcher,
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
      });
    } catch (err) {
      return transportFailure(err);
    }
    const status = res.statusCode;
    const ok = (status >= 200 && status < 300) || (spec.passStatuses?.includes(status) ?? false);
    let text: string;
    let tooBig: boolean;
    try {
      [text, tooBig] = await readBody(res.body, ok ? SUCCESS_BODY_LIMIT : ERROR_BODY_LIMIT);
    } catch (err) {
      return transportFailure(err);
    }

    if (ok) {
      line({ status });
      if (tooBig) throw badResponse(spec.route, `body larger than ${SUCCESS_BODY_LIMIT} bytes`);
      if (status < 200 || status >= 300 || text.trim() === '') return { status, body: undefined };
      try {
        return { status, body: JSON.parse(text) as unknown };
      } catch {
        throw badResponse(spec.route, `HTTP ${status} body is not JSON`);
      }
    }
    const parsed = parseErrorBody(text, scrub);
    if (status === 401 || status === 403) {
      line({ status });
      throw new AuthRefused(spec.route, status, parsed);
    }
    // 429 and 5xx are worth another try; any other 4xx is our mistake or a permanent answer.
    const retryable = status === 429 || status >= 500;
    const failure = httpError(spec.route, status, parsed, retryable);
    line({ status });
    if (!retryable) throw failure;
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], now());
    return retryAfterMs === undefined ? { retry: failure } : { retry: failure, retryAfterMs };
  }

  /** One upstream call with bounded retries for 429, 5xx, timeouts and connection failures. */
  async function send(spec: CallSpec, token?: string): Promise<CallResult> {
    const { signal } = spec;
    const url = buildUrl(spec.path, token === undefined ? spec.query : { ...spec.query, accessToken: token });
    const payload = spec.json === undefined ? undefined : JSON.stringify(spec.json);
    for (let n = 1; ; n++) {
      if (signal?.aborted) throw aborted(signal);
      stats[spec.counter]++;
      if (n > 1) stats.retries++;
      const outcome = await attempt(spec, url, n, payload);
      if (!('retry' in outcome)) return outcome;
      if (n >= maxAttempts) throw outcome.retry;
      await abortableSleep(sleep, retryDelay(n, outcome.retryAfterMs, backoff, random), signal);
    }
  }

  async function readCredentials(): Promise<EkuaibaoCredentials> {
    const creds = await options.credentials();
    if (
      !creds ||
      typeof creds.appKey !== 'string' ||
      creds.appKey === '' ||
      typeof creds.appSecurity !== 'string' ||
      creds.appSecurity === ''
    ) {
      throw new ValidationError('合思 credentials must have a non-empty appKey and appSecurity');
    }
    remember(appSecrets, creds.appSecurity, 8);
    return creds;
  }

  function readToken(body: unknown): AccessToken {
    const value =
      body !== null && typeof body === 'object' ? (body as Record<string, unknown>).value : undefined;
    const v = (value ?? body) as Record<string, unknown> | undefined;
    const accessToken = v && typeof v === 'object' ? v.accessToken : undefined;
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw badResponse('getAccessToken', 'no accessToken in the answer');
    }
    remember(tokenSecrets, accessToken, 16);
    let expireTime = Number(v?.expireTime);
    if (!Number.isFinite(expireTime) || expireTime <= 0) {
      log.warn('合思 token answer has no usable expireTime; assuming one hour');
      expireTime = now() + FALLBACK_TOKEN_LIFETIME_MS;
    } else if (expireTime < 1e12) {
      // Seconds, not the documented milliseconds: 1e12 ms is 2001, 1e12 s is far in the future.
      expireTime *= 1000;
    }
    return { accessToken, expireTime };
  }

  async function fetchToken(): Promise<AccessToken> {
    let creds = await readCredentials();
    for (let round = 1; ; round++) {
      try {
        const { body } = await send({
          route: 'getAccessToken',
          method: 'POST',
          path: PATHS.token,
          json: { appKey: creds.appKey, appSecurity: creds.appSecurity },
          counter: 'tokenFetches',
        });
        return readToken(body);
      } catch (err) {
        if (!(err instanceof AuthRefused)) throw err;
        if (round === 1 && options.onCredentialsRejected) {
          options.onCredentialsRejected();
          const fresh = await readCredentials();
          if (fresh.appKey !== creds.appKey || fresh.appSecurity !== creds.appSecurity) {
            creds = fresh; // rotated since we read them: worth one more try
            stats.retries++;
            continue;
          }
        }
        throw new EkuaibaoAuthError(
          `合思 refused the app credentials (${err.message}); check EKB_APP_KEY/EKB_APP_SECURITY or the EKB_CREDENTIALS_SECRET secret`,
          { details: { route: err.route, upstreamStatus: err.status, ...err.parsed } },
        );
      }
    }
  }

  const tokens = new TokenCache(fetchToken, now, options.tokenRefreshMarginMs ?? TOKEN_REFRESH_MARGIN_MS);

  /**
   * A data call with the cached token. 401/403 (expired, revoked, or the vendor's refusal of a token used right
   * after issue): drop that token, fetch a new one once, retry once. A second refusal is an auth error.
   */
  async function authed(spec: CallSpec): Promise<CallResult> {
    const first = await tokens.get(spec.signal);
    try {
      return await send(spec, first.accessToken);
    } catch (err) {
      if (!(err instanceof AuthRefused)) throw err;
      tokens.invalidate(first.accessToken);
      stats.authRetries++;
      stats.retries++;
      log.info('合思 refused the access token; fetching a new one', {
        route: spec.route,
        status: err.status,
      });
    }
    const second = await tokens.get(spec.signal);
    try {
      return await send(spec, second.accessToken);
    } catch (err) {
      if (!(err instanceof AuthRefused)) throw err;
      tokens.invalidate(second.accessToken);
      throw new EkuaibaoAuthError(`${err.message} (refused again with a freshly issued access token)`, {
        details: { route: err.route, upstreamStatus: err.status, ...err.parsed },
      });
    }
  }

  async function resolveDownloadUrls(
    refs: readonly AttachmentRef[],
    opts: ResolveOptions = {},
  ): Promise<Resolution[]> {
    const expiration = validateExpiration(opts.expiration);
    const valid = validateRefs(refs);
    if (opts.signal?.aborted) throw aborted(opts.signal);
    if (valid.length === 0) return [];
    const answers = new Map<string, Resolution>();
    const parts = chunk(uniqueRefs(valid), MAX_REFS_PER_CALL);
    await runPool(
      parts,
      resolveConcurrency,
      async (part, signal) => {
        // Taken before sending: the URLs are signed after this instant, so expiresAt errs on the early side.
        const sentAt = now();
        const { body } = await authed({
          route: 'downloadurls',
          method: 'POST',
          path: PATHS.downloadurls,
          json: part.map((r) => ({ id: r.id, key: r.key, expiration })),
          signal,
          counter: 'downloadUrlCalls',
          logFields: { items: part.length },
        });
        if (!Array.isArray(body)) throw badResponse('downloadurls', 'expected a JSON array');
        const wanted = new Set(part.map(refIdentity));
        let unreadable = 0;
        let unasked = 0;
        for (const raw of body) {
          const item = readAnswerItem(raw);
          if (!item) {
            unreadable++;
            continue;
          }
          const identity = refIdentity(item);
          if (!wanted.has(identity) || answers.has(identity)) {
            unasked++;
            continue;
          }
          answers.set(identity, toResolved(item, expiration, sentAt, options.dpSignatureTtlMs));
        }
        let notFound = 0;
        for (const ref of part) {
          const identity = refIdentity(ref);
          if (!answers.has(identity)) {
            answers.set(identity, { status: 'not_found', id: ref.id, key: ref.key });
            notFound++;
          }
        }
        if (unreadable > 0 || unasked > 0) {
          log.warn('合思 downloadurls answer had items we did not use', { unreadable, unasked, notFound });
        }
      },
      opts.signal,
    );
    return valid.map((ref) => ({ ...(answers.get(refIdentity(ref)) as Resolution) }));
  }

  async function getApplyList(query: ApplyListQuery): Promise<ApplyListPage> {
    validateApplyListQuery(query);
    const { body } = await authed({
      route: 'getApplyList',
      method: 'GET',
      path: PATHS.applyList,
      query: {
        type: query.type,
        start: String(query.start),
        count: String(query.count),
        orderBy: query.orderBy ?? 'updateTime',
        orderByType: query.orderByType ?? 'asc',
        startDate: query.startDate,
        endDate: query.endDate,
        active: query.active === undefined ? undefined : String(query.active),
      },
      ...(query.signal ? { signal: query.signal } : {}),
      counter: 'applyListCalls',
    });
    let page = body as Record<string, unknown> | undefined;
    if (page && !Array.isArray(page.items) && page.value && typeof page.value === 'object') {
      page = page.value as Record<string, unknown>;
    }
    if (!page || typeof page !== 'object' || !Array.isArray(page.items)) {
      throw badResponse('getApplyList', 'expected {count, items[]}');
    }
    const items: EkuaibaoForm[] = [];
    let dropped = 0;
    for (const raw of page.items as unknown[]) {
      const form = readForm(raw);
      if (form) items.push(form);
      else dropped++;
    }
    if (dropped > 0) log.warn('合思 getApplyList items without an id were dropped', { dropped });
    const total = Number(page.count);
    return { count: Number.isFinite(total) && total >= 0 ? total : items.length, items };
  }

  async function getFlowDetails(
    by: { flowId: string } | { code: string },
    signal?: AbortSignal,
  ): Promise<EkuaibaoForm | undefined> {
    const flowId = (by as { flowId?: unknown }).flowId;
    const code = (by as { code?: unknown }).code;
    const byId = typeof flowId === 'string' && flowId.trim() !== '';
    const byCode = typeof code === 'string' && code.trim() !== '';
    if (byId === byCode) {
      throw new ValidationError('getFlowDetails needs exactly one of a non-empty flowId or code');
    }
    const { status, body } = await authed({
      route: 'flowDetails',
      method: 'GET',
      path: byId ? PATHS.flowDetails : PATHS.flowDetailsByCode,
      query: byId ? { flowId: flowId as string } : { code: code as string },
      ...(signal ? { signal } : {}),
      counter: 'flowDetailsCalls',
      passStatuses: [412],
    });
    if (status === 412) return undefined;
    const value = body && typeof body === 'object' ? (body as Record<string, unknown>).value : undefined;
    const form = readForm(value);
    if (!form) throw badResponse('flowDetails', 'expected {value: form}');
    return form;
  }

  let closed = false;
  const client: EkuaibaoClient = {
    async getAccessToken(signal?: AbortSignal): Promise<string> {
      return (await tokens.get(signal)).accessToken;
    },
    resolveDownloadUrls,
    getApplyList,
    getFlowDetails,
    listForms: (opts: ListFormsOptions) => listForms({ getApplyList }, opts, sleep),
    stats,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await ownAgent?.close();
    },
  };
  return client;
}

function readForm(raw: unknown): EkuaibaoForm | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const o = raw as Record<string, unknown>;
  if (typeof o.id === 'number') return { ...o, id: String(o.id) } as EkuaibaoForm;
  if (typeof o.id !== 'string' || o.id === '') return undefined;
  return o as EkuaibaoForm;
}
