/**
 * The 合思 sandbox: a real HTTP server on 127.0.0.1 that speaks the Open API contract (../shared/ekuaibao-api.md)
 * and serves the signed downloads, with switches for every fault the contract allows.
 *
 * Choices where the vendor's behaviour is unknown (clients must not depend on them):
 * - downloadurls answers in REVERSE request order, so a client that matches by position breaks in tests;
 *   items it does not know (id+key) are absent. >100 items or an expiration outside 1..1800 → 400; a body that
 *   is not a JSON array → 500 with a message (the vendor documents "HTTP 500 with a message" for bad input).
 * - Token and auth errors are 403; data calls take `accessToken` from the query only. refreshToken swaps a live
 *   pair (the old access token stops working); location always points back here.
 * - Download URLs: ordinary keys → `/oss/<fileId>/<name>?Expires&OSSAccessKeyId&Signature` (403 once expired or
 *   tampered); DP: keys → `/yundisk0/<id>.file` + Authorization/x-oss-date headers, accepted for
 *   dpSignatureTtlMs after signing. Range requests are served (206/416); thumbUrl works for images only (400).
 * - getApplyList filters `startDate`/`endDate` (China time, inclusive to the second) on `orderBy` (updateTime by
 *   default); `active=false` lists only deleted forms.
 * - Deleting a form keeps its updateTime.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';
import { contentChunks, sha256OfContent } from './content.js';
import { DEMO_APP_KEY, DEMO_APP_SECURITY, DEMO_CORPORATION_ID, demoFiles, demoForms } from './demo-data.js';
import { contentTypeOf, etagOf, parseRange } from './download-meta.js';
import {
  type BodyPlan,
  type ConcreteRoute,
  cutConnection,
  FaultBoard,
  sleepUnlessClosed,
  writeBody,
} from './faults.js';
import {
  findAttachmentObjects,
  listForms,
  parseApplyListQuery,
  presentForm,
  type StoredForm,
} from './forms.js';
import { DP_ACCESS_KEY_ID, OSS_ACCESS_KEY_ID, ossErrorXml, Signer, THUMB_PROCESS } from './signing.js';
import type { EkuaibaoSandbox, SandboxFault, SandboxFile, SandboxOptions, SandboxStats } from './types.js';

const TWO_HOURS_MS = 2 * 60 * 60 * 1000;
const FIFTEEN_MINUTES_MS = 15 * 60 * 1000;
/** The vendor's documented limits for downloadurls. */
const MAX_ITEMS_PER_CALL = 100;
const MAX_EXPIRATION_S = 1800;
/** Request bodies beyond this are refused (100 items are ~40 KiB). */
const MAX_REQUEST_BODY = 1024 * 1024;
/** Thumbnails are small stand-ins (any image bytes do; nobody decodes them). */
const THUMB_SIZE = 2048;

const PATHS = {
  token: '/api/openapi/v1/auth/getAccessToken',
  refreshToken: '/api/openapi/v2/auth/refreshToken',
  location: '/api/openapi/v2/location',
  downloadUrls: '/api/openapi/v2/attachment/downloadurls',
  applyList: '/api/openapi/v1.1/docs/getApplyList',
  flowDetails: '/api/openapi/v1.1/flowDetails',
  flowDetailsByCode: '/api/openapi/v1.1/flowDetails/byCode',
} as const;
const OSS_PREFIX = '/oss/';
const DP_PREFIX_PATH = '/yundisk0/';

interface TokenRecord {
  expireTime: number;
  refreshToken: string;
  /** Whether a data call has used it yet (for the forbiddenAfterIssue quirk). */
  used: boolean;
}

interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  route: ConcreteRoute;
  /** From an armed `reset` fault with afterBytes > 0: cut the answer after this many body bytes. */
  resetAfter?: number;
}

function emptyStats(): Required<SandboxStats> {
  return {
    tokenCalls: 0,
    downloadUrlCalls: 0,
    downloadUrlItems: 0,
    maxItemsPerCall: 0,
    applyListCalls: 0,
    flowDetailsCalls: 0,
    downloadsStarted: 0,
    downloadsCompleted: 0,
    faultsFired: {},
    downloadsRefused: 0,
    unauthorizedCalls: 0,
    refreshTokenCalls: 0,
  };
}

class Sandbox implements EkuaibaoSandbox {
  baseUrl = '';
  readonly appKey: string;
  readonly appSecurity: string;
  readonly stats: Required<SandboxStats> = emptyStats();

  readonly #server: Server;
  readonly #now: () => number;
  readonly #tokenTtlMs: number;
  readonly #dpTtlMs: number;
  readonly #signer = new Signer();
  readonly #faults: FaultBoard;
  readonly #files = new Map<string, SandboxFile>();
  readonly #forms = new Map<string, StoredForm>();
  #tokens = new Map<string, TokenRecord>();
  /** Every access and refresh token ever issued (revoked ones too), for tests that prove none leaked. */
  readonly #issued: string[] = [];

  constructor(options: SandboxOptions) {
    this.appKey = options.appKey ?? DEMO_APP_KEY;
    this.appSecurity = options.appSecurity ?? DEMO_APP_SECURITY;
    this.#now = options.now ?? Date.now;
    this.#tokenTtlMs = options.tokenTtlMs ?? TWO_HOURS_MS;
    this.#dpTtlMs = options.dpSignatureTtlMs ?? FIFTEEN_MINUTES_MS;
    this.#faults = new FaultBoard((kind) => {
      this.stats.faultsFired[kind] = (this.stats.faultsFired[kind] ?? 0) + 1;
    });
    for (const file of options.files ?? demoFiles()) this.addFile(file);
    for (const form of options.forms ?? demoForms()) this.putForm(form);
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          sendJsonPlain(res, 500, { errorCode: 500, errorMessage: `sandbox error: ${String(error)}` });
        } else {
          res.destroy();
        }
      });
    });
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.baseUrl = `http://${shownHost}:${address.port}`;
  }

  // ---- public control surface ------------------------------------------------------------------------------

  resetStats(): void {
    Object.assign(this.stats, emptyStats());
  }

  addFile(file: SandboxFile): void {
    if (!file.id || !file.key || !Number.isSafeInteger(file.size) || file.size < 0) {
      throw new RangeError(`sandbox file needs id, key and a non-negative integer size (id ${file.id})`);
    }
    this.#files.set(file.id, { ...file });
  }

  putForm(form: EkuaibaoForm): void {
    if (!form.id) throw new RangeError('sandbox form needs an id');
    const copy = structuredClone(form);
    for (const a of findAttachmentObjects(copy)) {
      const size = typeof a.size === 'number' ? a.size : a.fileSize;
      if (typeof size === 'number') {
        this.addFile({
          id: a.fileId as string,
          key: a.key as string,
          fileName: typeof a.fileName === 'string' ? a.fileName : (a.fileId as string),
          size,
        });
      }
    }
    this.#forms.set(form.id, { form: copy, deleted: copy.active === false });
  }

  deleteForm(id: string): void {
    const stored = this.#forms.get(id);
    if (stored) stored.deleted = true;
  }

  inject(fault: SandboxFault): void {
    this.#faults.inject(fault);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  revokeTokens(): void {
    this.#tokens = new Map();
  }

  issuedTokens(): string[] {
    return [...this.#issued];
  }

  async sha256(fileId: string): Promise<string> {
    const file = this.#files.get(fileId);
    if (!file) throw new RangeError(`sandbox has no file ${fileId}`);
    return sha256OfContent(file.seed ?? file.id, file.size);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  // ---- routing ---------------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    if (url.pathname === PATHS.location) {
      // Where the tenant lives: always here (the real one can move hosts with vendor upgrades).
      await drain(req);
      sendJsonPlain(res, 200, { value: `${this.baseUrl}/` });
      return;
    }
    const route = routeOf(url.pathname);
    if (!route) {
      await drain(req);
      sendJsonPlain(res, 404, { errorCode: 404, errorMessage: `没有这个接口: ${url.pathname}` });
      return;
    }
    const ctx: RequestContext = { req, res, url, route };
    let body: Buffer | 'too-large' | undefined;
    if (req.method === 'POST') body = await readBody(req);
    else await drain(req);
    if (body === 'too-large') {
      this.#json(ctx, 413, { errorCode: 413, errorMessage: '请求体过大' });
      return;
    }

    const slow = this.#faults.take('slowHeaders', route);
    if (slow && !(await sleepUnlessClosed(res, slow.delayMs))) return;
    const reset = this.#faults.take('reset', route);
    if (reset) {
      if (reset.afterBytes <= 0) {
        req.socket.resetAndDestroy();
        return;
      }
      ctx.resetAfter = reset.afterBytes;
    }
    const status = this.#faults.take('status', route);
    if (status) {
      const headers: Record<string, string> = {};
      if (status.retryAfterSeconds !== undefined) headers['retry-after'] = String(status.retryAfterSeconds);
      if (status.body !== undefined) {
        this.#send(
          ctx,
          status.status,
          Buffer.from(status.body, 'utf8'),
          'text/plain; charset=utf-8',
          headers,
        );
      } else {
        this.#json(ctx, status.status, { errorCode: status.status, errorMessage: '注入的故障' }, headers);
      }
      return;
    }

    if (url.pathname === PATHS.refreshToken) this.#refreshToken(ctx);
    else if (route === 'token') this.#token(ctx, body);
    else if (route === 'downloadurls') this.#downloadUrls(ctx, body);
    else if (route === 'applyList') this.#applyList(ctx);
    else if (route === 'flowDetails') this.#flowDetails(ctx);
    else await this.#download(ctx);
  }

  // ---- auth ------------------------------------------------------------------------------------------------

  #token(ctx: RequestContext, body: Buffer | undefined): void {
    this.stats.tokenCalls += 1;
    if (ctx.req.method !== 'POST') {
      this.#methodNotAllowed(ctx);
      return;
    }
    const q = ctx.url.searchParams;
    if (q.has('appKey') || q.has('appSecurity')) {
      this.#json(ctx, 403, { value: { errorCode: 403, errorMessage: '密钥无效: 请在请求体中传递' } });
      return;
    }
    const parsed = parseJson(body);
    if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object') {
      this.#json(ctx, 400, {
        errorCode: 400,
        errorMessage: '请求体必须是 JSON 对象 {appKey, appSecurity}',
      });
      return;
    }
    const creds = parsed.value as Record<string, unknown>;
    if (creds.appKey !== this.appKey || creds.appSecurity !== this.appSecurity) {
      this.#json(ctx, 403, { value: { errorCode: 403, errorMessage: '密钥无效' } });
      return;
    }
    this.#json(ctx, 200, { value: this.#issueToken() });
  }

  /** Swaps a live token and its refresh token for a new pair; an expired or unknown token cannot be refreshed. */
  #refreshToken(ctx: RequestContext): void {
    this.stats.refreshTokenCalls += 1;
    if (ctx.req.method !== 'POST') {
      this.#methodNotAllowed(ctx);
      return;
    }
    const q = ctx.url.searchParams;
    const token = q.get('accessToken') ?? '';
    const record = this.#tokens.get(token);
    if (!record || record.expireTime <= this.#now() || record.refreshToken !== q.get('refreshToken')) {
      this.stats.unauthorizedCalls += 1;
      this.#json(ctx, 403, { errorCode: 403, errorMessage: '未授权', errorDetails: null });
      return;
    }
    this.#tokens.delete(token);
    this.#json(ctx, 200, { value: this.#issueToken() });
  }

  #issueToken(): { accessToken: string; refreshToken: string; expireTime: number; corporationId: string } {
    const accessToken = `ID01${randomToken(10)}:${randomToken(6)}`;
    const refreshToken = `ID01${randomToken(10)}:${randomToken(6)}`;
    const expireTime = this.#now() + this.#tokenTtlMs;
    this.#tokens.set(accessToken, { expireTime, refreshToken, used: false });
    this.#issued.push(accessToken, refreshToken);
    return { accessToken, refreshToken, expireTime, corporationId: DEMO_CORPORATION_ID };
  }

  /** True when the call may go on; otherwise the 403 has been sent. */
  #authorize(ctx: RequestContext): boolean {
    const token = ctx.url.searchParams.get('accessToken');
    const record = token ? this.#tokens.get(token) : undefined;
    let ok = record !== undefined && record.expireTime > this.#now();
    if (ok && record && !record.used) {
      record.used = true;
      // The 2023 quirk: a token's very first call could be refused.
      if (this.#faults.take('forbiddenAfterIssue', ctx.route)) ok = false;
    }
    if (!ok) {
      this.stats.unauthorizedCalls += 1;
      this.#json(ctx, 403, { errorCode: 403, errorMessage: '未授权', errorDetails: null });
    }
    return ok;
  }

  // ---- downloadurls ----------------------------------------------------------------------------------------

  #downloadUrls(ctx: RequestContext, body: Buffer | undefined): void {
    this.stats.downloadUrlCalls += 1;
    if (ctx.req.method !== 'POST') {
      this.#methodNotAllowed(ctx);
      return;
    }
    if (!this.#authorize(ctx)) return;
    const parsed = parseJson(body);
    if (!parsed.ok || !Array.isArray(parsed.value)) {
      this.#json(ctx, 500, {
        errorCode: 500,
        errorMessage: '参数错误: 请求体必须是 [{id, key, expiration}] 数组',
        errorDetails: null,
      });
      return;
    }
    const items: unknown[] = parsed.value;
    this.stats.downloadUrlItems += items.length;
    this.stats.maxItemsPerCall = Math.max(this.stats.maxItemsPerCall, items.length);
    if (items.length > MAX_ITEMS_PER_CALL) {
      this.#json(ctx, 400, {
        errorCode: 400,
        errorMessage: `参数错误: 最多支持 ${MAX_ITEMS_PER_CALL} 个参数, 收到 ${items.length} 个`,
        errorDetails: null,
      });
      return;
    }
    const requests: { id: string; key: string; expiration: number }[] = [];
    for (const [index, item] of items.entries()) {
      const problem = itemProblem(item);
      if (problem) {
        this.#json(ctx, 400, {
          errorCode: 400,
          errorMessage: `参数错误: 第 ${index} 项 ${problem}`,
          errorDetails: null,
        });
        return;
      }
      requests.push(item as { id: string; key: string; expiration: number });
    }
    const now = this.#now();
    const answers: Record<string, unknown>[] = [];
    for (const request of requests) {
      const file = this.#files.get(request.id);
      if (!file || file.key !== request.key) continue;
      answers.push(
        request.key.startsWith('DP:')
          ? this.#dpAnswer(file, now)
          : this.#ossAnswer(file, Math.floor(now / 1000) + request.expiration),
      );
    }
    answers.reverse();
    this.#json(ctx, 200, answers);
  }

  #ossAnswer(file: SandboxFile, expires: number): Record<string, unknown> {
    const path = `${OSS_PREFIX}${encodeURIComponent(file.id)}/${encodeURIComponent(file.fileName)}`;
    const resource = `${OSS_PREFIX}${file.id}/${file.fileName}`;
    const query = (process?: string) =>
      `?Expires=${expires}&OSSAccessKeyId=${OSS_ACCESS_KEY_ID}` +
      `&Signature=${encodeURIComponent(this.#signer.signUrl(resource, expires, process))}` +
      (process ? `&x-oss-process=${encodeURIComponent(process)}` : '');
    return {
      id: file.id,
      key: file.key,
      url: `${this.baseUrl}${path}${query()}`,
      thumbUrl: `${this.baseUrl}${path}${query(THUMB_PROCESS)}`,
    };
  }

  #dpAnswer(file: SandboxFile, now: number): Record<string, unknown> {
    const path = `${DP_PREFIX_PATH}${Buffer.from(file.id, 'utf8').toString('base64url')}.file`;
    const ossDate = new Date(now).toUTCString();
    return {
      id: file.id,
      key: file.key,
      url: `${this.baseUrl}${path}`,
      thumbUrl: `${this.baseUrl}${path}`,
      headers: {
        Authorization: `OSS ${DP_ACCESS_KEY_ID}:${this.#signer.signHeaders(path, ossDate)}`,
        'x-oss-date': ossDate,
      },
    };
  }

  // ---- forms -----------------------------------------------------------------------------------------------

  #applyList(ctx: RequestContext): void {
    this.stats.applyListCalls += 1;
    if (ctx.req.method !== 'GET') {
      this.#methodNotAllowed(ctx);
      return;
    }
    if (!this.#authorize(ctx)) return;
    const params = parseApplyListQuery(ctx.url.searchParams);
    if (typeof params === 'string') {
      this.#json(ctx, 400, { errorCode: 400, errorMessage: params, errorDetails: null });
      return;
    }
    this.#json(ctx, 200, listForms(this.#forms.values(), params));
  }

  #flowDetails(ctx: RequestContext): void {
    this.stats.flowDetailsCalls += 1;
    if (ctx.req.method !== 'GET') {
      this.#methodNotAllowed(ctx);
      return;
    }
    if (!this.#authorize(ctx)) return;
    const byCode = ctx.url.pathname === PATHS.flowDetailsByCode;
    const wanted = ctx.url.searchParams.get(byCode ? 'code' : 'flowId');
    if (!wanted) {
      this.#json(ctx, 400, {
        errorCode: 400,
        errorMessage: `缺少参数 ${byCode ? 'code' : 'flowId'}`,
        errorDetails: null,
      });
      return;
    }
    const stored = byCode
      ? [...this.#forms.values()].find((s) => s.form.code === wanted)
      : this.#forms.get(wanted);
    if (!stored || stored.deleted) {
      this.#json(ctx, 412, { errorCode: 412, errorMessage: '单据不存在或已删除', errorDetails: null });
      return;
    }
    this.#json(ctx, 200, { value: presentForm(stored) });
  }

  // ---- downloads -------------------------------------------------------------------------------------------

  async #download(ctx: RequestContext): Promise<void> {
    const { req } = ctx;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.#ossError(ctx, 405, 'MethodNotAllowed', 'The specified method is not allowed');
      return;
    }
    const target = this.#downloadTarget(ctx);
    if (!target) return;
    const { file, thumb } = target;
    if (this.#faults.take('expiredUrl', 'download')) {
      this.#refuse(ctx, 'AccessDenied', 'Request has expired.');
      return;
    }

    const contentType = contentTypeOf(file);
    if (thumb && !contentType.startsWith('image/')) {
      this.#ossError(ctx, 400, 'BadRequest', 'The image format is not supported.');
      return;
    }
    const seed = thumb ? `${file.seed ?? file.id}#thumb` : (file.seed ?? file.id);
    const size = thumb ? Math.min(THUMB_SIZE, file.size) : file.size;
    const range = parseRange(req.headers.range, size);
    const headers: Record<string, string | number> = {
      'content-type': contentType,
      etag: etagOf(seed, size),
      'accept-ranges': 'bytes',
      'last-modified': new Date(Date.UTC(2026, 2, 1)).toUTCString(),
    };
    if (range === 'unsatisfiable') {
      this.#ossError(ctx, 416, 'InvalidRange', 'The requested range cannot be satisfied.', {
        'content-range': `bytes */${size}`,
      });
      return;
    }
    const [start, end] = range ?? [0, size];
    headers['content-length'] = end - start;
    if (range) headers['content-range'] = `bytes ${start}-${end - 1}/${size}`;
    ctx.res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      ctx.res.end();
      return;
    }

    this.stats.downloadsStarted += 1;
    const plan: BodyPlan = {};
    const stall = this.#faults.take('stallBody', 'download');
    if (stall) {
      plan.stallAfter = stall.afterBytes;
      if (stall.stallMs !== undefined) plan.stallMs = stall.stallMs;
    }
    const slow = this.#faults.take('slowBody', 'download');
    if (slow) plan.bytesPerSecond = slow.bytesPerSecond;
    const truncate = this.#faults.take('truncate', 'download');
    if (ctx.resetAfter !== undefined) {
      plan.cutAfter = ctx.resetAfter;
      plan.cut = 'reset';
    } else if (truncate) {
      plan.cutAfter = truncate.afterBytes;
      plan.cut = 'truncate';
    }
    const outcome = await writeBody(ctx.res, contentChunks(seed, start, end), plan);
    if (outcome === 'complete') this.stats.downloadsCompleted += 1;
  }

  /** Finds and authorises the file behind a download URL; otherwise answers the OSS error and returns undefined. */
  #downloadTarget(ctx: RequestContext): { file: SandboxFile; thumb: boolean } | undefined {
    const { url, req } = ctx;
    if (url.pathname.startsWith(DP_PREFIX_PATH)) {
      const name = url.pathname.slice(DP_PREFIX_PATH.length);
      const fileId = name.endsWith('.file')
        ? Buffer.from(name.slice(0, -5), 'base64url').toString('utf8')
        : '';
      const file = this.#files.get(fileId);
      if (!file?.key.startsWith('DP:')) {
        this.#ossError(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
        return undefined;
      }
      const authorization = header(req, 'authorization');
      const ossDate = header(req, 'x-oss-date');
      if (!authorization || !ossDate) {
        this.#refuse(ctx, 'AccessDenied', 'You have no right to access this object.');
        return undefined;
      }
      if (!this.#signer.verifyHeaders(url.pathname, ossDate, authorization)) {
        this.#refuse(ctx, 'SignatureDoesNotMatch', 'The request signature we calculated does not match.');
        return undefined;
      }
      const signedAt = Date.parse(ossDate);
      if (!Number.isFinite(signedAt) || Math.abs(this.#now() - signedAt) > this.#dpTtlMs) {
        this.#refuse(
          ctx,
          'RequestTimeTooSkewed',
          'The difference between the request time and the current time is too large.',
        );
        return undefined;
      }
      return { file, thumb: false };
    }

    let fileId: string;
    let fileName: string;
    try {
      const rest = url.pathname.slice(OSS_PREFIX.length);
      const slash = rest.indexOf('/');
      fileId = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
      fileName = slash < 0 ? '' : decodeURIComponent(rest.slice(slash + 1));
    } catch {
      this.#ossError(ctx, 400, 'InvalidURI', 'Could not parse the specified URI.');
      return undefined;
    }
    const file = this.#files.get(fileId);
    if (!file || file.key.startsWith('DP:')) {
      this.#ossError(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
      return undefined;
    }
    const q = url.searchParams;
    const expires = Number(q.get('Expires'));
    const signature = q.get('Signature');
    const process = q.get('x-oss-process') ?? undefined;
    if (!q.get('Expires') || !Number.isSafeInteger(expires) || !signature || !q.get('OSSAccessKeyId')) {
      this.#refuse(ctx, 'AccessDenied', 'You have no right to access this object.');
      return undefined;
    }
    if (!this.#signer.verifyUrl(`${OSS_PREFIX}${fileId}/${fileName}`, expires, process, signature)) {
      this.#refuse(ctx, 'SignatureDoesNotMatch', 'The request signature we calculated does not match.');
      return undefined;
    }
    if (expires * 1000 < this.#now()) {
      this.#refuse(ctx, 'AccessDenied', 'Request has expired.');
      return undefined;
    }
    if (process !== undefined && process !== THUMB_PROCESS) {
      this.#ossError(ctx, 400, 'InvalidArgument', 'The x-oss-process parameter is not supported here.');
      return undefined;
    }
    return { file, thumb: process !== undefined };
  }

  #refuse(ctx: RequestContext, code: string, message: string): void {
    this.stats.downloadsRefused += 1;
    this.#ossError(ctx, 403, code, message);
  }

  // ---- answers ---------------------------------------------------------------------------------------------

  #ossError(
    ctx: RequestContext,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    this.#send(ctx, status, Buffer.from(ossErrorXml(code, message), 'utf8'), 'application/xml', headers);
  }

  #methodNotAllowed(ctx: RequestContext): void {
    this.#json(ctx, 405, { errorCode: 405, errorMessage: `不支持 ${ctx.req.method}`, errorDetails: null });
  }

  #json(ctx: RequestContext, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.#send(
      ctx,
      status,
      Buffer.from(JSON.stringify(body), 'utf8'),
      'application/json;charset=UTF-8',
      headers,
    );
  }

  #send(
    ctx: RequestContext,
    status: number,
    body: Buffer,
    contentType: string,
    headers: Record<string, string>,
  ): void {
    const { res } = ctx;
    if (res.destroyed) return;
    res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': body.length });
    if (ctx.req.method === 'HEAD') {
      res.end();
      return;
    }
    if (ctx.resetAfter !== undefined && ctx.resetAfter < body.length) {
      res.write(body.subarray(0, ctx.resetAfter));
      void cutConnection(res, 'reset');
      return;
    }
    res.end(body);
  }
}

export async function startEkuaibaoSandbox(options: SandboxOptions = {}): Promise<EkuaibaoSandbox> {
  const sandbox = new Sandbox(options);
  await sandbox.listen(options.host ?? '127.0.0.1', options.port ?? 0);
  return sandbox;
}

// ---- helpers -------------------------------------------------------------------------------------------------

function routeOf(pathname: string): ConcreteRoute | undefined {
  switch (pathname) {
    case PATHS.token:
    case PATHS.refreshToken:
      return 'token';
    case PATHS.downloadUrls:
      return 'downloadurls';
    case PATHS.applyList:
      return 'applyList';
    case PATHS.flowDetails:
    case PATHS.flowDetailsByCode:
      return 'flowDetails';
  }
  if (pathname.startsWith(OSS_PREFIX) || pathname.startsWith(DP_PREFIX_PATH)) return 'download';
  return undefined;
}

function itemProblem(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item))
    return '必须是对象 {id, key, expiration}';
  const o = item as Record<string, unknown>;
  if (typeof o.id !== 'string' || o.id === '') return 'id 必须是非空字符串';
  if (typeof o.key !== 'string' || o.key === '') return 'key 必须是非空字符串';
  if (typeof o.expiration !== 'number' || !Number.isInteger(o.expiration)) return 'expiration 必须是整数(秒)';
  if (o.expiration < 1 || o.expiration > MAX_EXPIRATION_S) {
    return `expiration 必须在 1 到 ${MAX_EXPIRATION_S} 秒之间`;
  }
  return undefined;
}

function parseJson(body: Buffer | undefined): { ok: true; value: unknown } | { ok: false } {
  if (!body || body.length === 0) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let total = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_REQUEST_BODY) tooLarge = true;
    else chunks.push(chunk);
  }
  return tooLarge ? 'too-large' : Buffer.concat(chunks);
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // discard
  }
}

function sendJsonPlain(res: ServerResponse, status: number, body: unknown): void {
  const text = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': text.length });
  res.end(text);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}
