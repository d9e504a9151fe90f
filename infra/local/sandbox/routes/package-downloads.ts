/**
 * The form-package hosts: `files-dd/<key>` (OSS-style query signature; x-oss-process thumbnails and OCR crops,
 * covered by the signature, for images only; OSS integrity headers on stored objects) and `vipimg/<key>`
 * (`?e=<deadline>&token=`, no OSS headers). Both answer 403 once expired or tampered with, 404 for an unknown key.
 */
import { type RequestContext, sendJson, sendOssError } from '../http.js';
import { isSupportedProcess, processedBody, type StoredObject } from '../objects.js';
import type { SandboxState } from '../state.js';
import { FILES_DD_PREFIX, VIPIMG_PREFIX } from './download-paths.js';
import type { RouteSpec } from './route-spec.js';
import { checkQuerySignature, refuseDownload, serveDownload } from './serve-download.js';

export const packageDownloadsRoute: RouteSpec = {
  scope: 'download',
  matches: (pathname) => pathname.startsWith(FILES_DD_PREFIX) || pathname.startsWith(VIPIMG_PREFIX),
  async handle(ctx, state) {
    if (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD') {
      sendOssError(ctx, 405, 'MethodNotAllowed', 'The specified method is not allowed');
      return;
    }
    const ossStyle = ctx.url.pathname.startsWith(FILES_DD_PREFIX);
    const target = ossStyle ? filesDdTarget(ctx, state) : vipimgTarget(ctx, state);
    if (!target) return;
    if (state.faults.take('expiredUrl', 'download')) {
      if (ossStyle) refuseDownload(ctx, state, 'AccessDenied', 'Request has expired.');
      else refuseToken(ctx, state, 'token out of date');
      return;
    }
    const { object, process } = target;
    if (process !== undefined && !object.contentType.startsWith('image/')) {
      sendOssError(ctx, 400, 'BadRequest', 'The image format is not supported.');
      return;
    }
    const body = process === undefined ? object : processedBody(object.seed, object.size, process);
    await serveDownload(ctx, state, {
      seed: body.seed,
      size: body.size,
      contentType: object.contentType,
      oss: ossStyle && process === undefined,
      withoutCrc64: object.withoutCrc64 === true,
    });
  },
};

function keyOf(ctx: RequestContext, prefix: string): string | undefined {
  try {
    return decodeURIComponent(ctx.url.pathname.slice(prefix.length));
  } catch {
    return undefined;
  }
}

function filesDdTarget(
  ctx: RequestContext,
  state: SandboxState,
): { object: StoredObject; process: string | undefined } | undefined {
  const key = keyOf(ctx, FILES_DD_PREFIX);
  if (key === undefined) {
    sendOssError(ctx, 400, 'InvalidURI', 'Could not parse the specified URI.');
    return undefined;
  }
  const object = state.objects.get(key);
  if (!object) {
    sendOssError(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
    return undefined;
  }
  const checked = checkQuerySignature(ctx, state, `${FILES_DD_PREFIX}${key}`);
  if (!checked) return undefined;
  const { process } = checked;
  if (process !== undefined && !isSupportedProcess(process)) {
    sendOssError(ctx, 400, 'InvalidArgument', 'The x-oss-process parameter is not supported here.');
    return undefined;
  }
  return { object, process };
}

function vipimgTarget(
  ctx: RequestContext,
  state: SandboxState,
): { object: StoredObject; process: undefined } | undefined {
  const key = keyOf(ctx, VIPIMG_PREFIX);
  const object = key === undefined ? undefined : state.objects.get(key);
  if (key === undefined || !object) {
    sendJson(ctx, 404, { error: 'Document not found' });
    return undefined;
  }
  const q = ctx.url.searchParams;
  const deadline = Number(q.get('e'));
  const token = q.get('token');
  if (!q.get('e') || !Number.isSafeInteger(deadline) || !token) {
    refuseToken(ctx, state, 'download token not specified');
    return undefined;
  }
  if (!state.signer.verifyDeadline(`${VIPIMG_PREFIX}${key}`, deadline, token)) {
    refuseToken(ctx, state, 'bad token');
    return undefined;
  }
  if (deadline * 1000 < state.now()) {
    refuseToken(ctx, state, 'token out of date');
    return undefined;
  }
  return { object, process: undefined };
}

/** The `?e=&token=` host's refusal: JSON, 403 (as every expired or forged link of 合思's hosts). */
function refuseToken(ctx: RequestContext, state: SandboxState, message: string): void {
  state.stats.downloadsRefused += 1;
  sendJson(ctx, 403, { error: message });
}
