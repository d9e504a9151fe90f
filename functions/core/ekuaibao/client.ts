/**
 * The 合思 Open API client, assembled from its layers: the HTTP call with retries (http-call.ts), the token and
 * credentials (auth.ts), and the endpoints (downloadurls.ts, forms.ts, list-forms.ts). Domain code: no
 * process.env, no AWS, no Lambda types.
 */
import { Agent, type Dispatcher } from 'undici';
import { ValidationError } from '../errors.js';
import type { EkuaibaoForm } from '../model/forms.js';
import {
  type CredentialsSource,
  type DownloadUrlResolver,
  type FormPackageSource,
  type FormsSource,
  type Logger,
  silentLogger,
} from '../ports.js';
import { type BackoffPolicy, DEFAULT_BACKOFF, defaultSleep, type Sleep } from '../util/backoff.js';
import { redactText } from '../util/redact.js';
import { createAuth } from './auth.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RESOLVE_CONCURRENCY,
} from './defaults.js';
import { resolveDownloadUrls } from './downloadurls.js';
import { getFlowAttachments, getFlowsPdf, getInvoiceUrls, searchInvoices } from './form-files.js';
import { getApplyList, getFlowDetails } from './forms.js';
import { createHttpCall, type EkuaibaoClientStats, SecretScrubber } from './http-call.js';
import { type ListFormsOptions, listForms } from './list-forms.js';
import { TOKEN_REFRESH_MARGIN_MS } from './token-cache.js';

export type { EkuaibaoClientStats } from './http-call.js';

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

export interface EkuaibaoClient extends DownloadUrlResolver, FormsSource, FormPackageSource {
  /** A valid access token (cached; one fetch shared by concurrent callers). Secret: never log it. */
  getAccessToken(signal?: AbortSignal): Promise<string>;
  /** All forms of one type in a window, page by page with a pause between pages (list-forms.ts). */
  listForms(options: ListFormsOptions): AsyncGenerator<EkuaibaoForm, void, undefined>;
  readonly stats: Readonly<EkuaibaoClientStats>;
  /** Closes the client's own Agent (not an injected dispatcher). */
  close(): Promise<void>;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${name} must be a positive integer (got ${String(value)})`);
  }
  return value;
}

function tenantBaseUrl(raw: string): string {
  let base: URL;
  try {
    base = new URL(raw);
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new ValidationError(`baseUrl must be an http(s) URL (got "${redactText(String(raw))}")`);
  }
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
}

export function createEkuaibaoClient(options: EkuaibaoClientOptions): EkuaibaoClient {
  const baseUrl = tenantBaseUrl(options.baseUrl);
  const concurrency = positiveInt(
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
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const log = (options.logger ?? silentLogger).child({ component: 'ekuaibao' });
  const ownAgent = options.dispatcher
    ? undefined
    : new Agent({
        connect: { timeout: connectTimeoutMs },
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
      });
  const stats: EkuaibaoClientStats = {
    tokenFetches: 0,
    downloadUrlCalls: 0,
    applyListCalls: 0,
    flowDetailsCalls: 0,
    flowAttachmentCalls: 0,
    invoiceSearchCalls: 0,
    invoiceUrlCalls: 0,
    flowsPdfCalls: 0,
    retries: 0,
    authRetries: 0,
  };
  const secrets = new SecretScrubber();
  const send = createHttpCall({
    baseUrl,
    dispatcher: options.dispatcher ?? (ownAgent as Agent),
    maxAttempts,
    requestTimeoutMs,
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    now,
    sleep,
    random: options.random ?? Math.random,
    log,
    stats,
    secrets,
  });
  const { tokens, authed } = createAuth({
    send,
    credentials: options.credentials,
    ...(options.onCredentialsRejected ? { onCredentialsRejected: options.onCredentialsRejected } : {}),
    tokenRefreshMarginMs: options.tokenRefreshMarginMs ?? TOKEN_REFRESH_MARGIN_MS,
    now,
    log,
    stats,
    secrets,
  });
  const forms = { authed, log };
  const resolve = { authed, concurrency, now, dpSignatureTtlMs: options.dpSignatureTtlMs, log };

  let closed = false;
  const client: EkuaibaoClient = {
    async getAccessToken(signal?: AbortSignal): Promise<string> {
      return (await tokens.get(signal)).accessToken;
    },
    resolveDownloadUrls: (refs, opts) => resolveDownloadUrls(resolve, refs, opts),
    getApplyList: (query) => getApplyList(forms, query),
    getFlowDetails: (by, signal) => getFlowDetails(forms, by, signal),
    getFlowAttachments: (flowIds, signal) => getFlowAttachments(forms, flowIds, signal),
    searchInvoices: (by, values, signal) => searchInvoices(forms, by, values, signal),
    getInvoiceUrls: (invoiceIds, signal) => getInvoiceUrls(forms, invoiceIds, signal),
    getFlowsPdf: (flowIds, signal) => getFlowsPdf(forms, flowIds, signal),
    listForms: (opts: ListFormsOptions) => listForms(client, opts, sleep),
    stats,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await ownAgent?.close();
    },
  };
  return client;
}
