/**
 * The file hosts behind downloadurls: query-signed OSS URLs (`/oss/…`, 403 once `Expires` has passed or the
 * signature does not match; `x-oss-process=image/resize,…` thumbnails for images only, 400 otherwise) and
 * header-signed DingTalk-drive URLs (`/yundisk0/…`, 403 without Authorization + x-oss-date, or once the signing
 * time is older than dpSignatureTtlMs).
 */

import { contentTypeOf } from '../download-meta.js';
import { header, type RequestContext, sendOssError } from '../http.js';
import { THUMB_SIZE } from '../objects.js';
import { THUMB_PROCESS } from '../signing.js';
import type { SandboxState } from '../state.js';
import type { SandboxFile } from '../types.js';
import { DP_PREFIX, OSS_PREFIX } from './download-paths.js';
import type { RouteSpec } from './route-spec.js';
import { checkQuerySignature, refuseDownload, serveDownload } from './serve-download.js';

export const downloadsRoute: RouteSpec = {
  scope: 'download',
  matches: (pathname) => pathname.startsWith(OSS_PREFIX) || pathname.startsWith(DP_PREFIX),
  async handle(ctx, state) {
    if (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD') {
      sendOssError(ctx, 405, 'MethodNotAllowed', 'The specified method is not allowed');
      return;
    }
    const target = ctx.url.pathname.startsWith(DP_PREFIX) ? dpTarget(ctx, state) : ossTarget(ctx, state);
    if (!target) return;
    const { file, thumb } = target;
    if (state.faults.take('expiredUrl', 'download')) {
      refuseDownload(ctx, state, 'AccessDenied', 'Request has expired.');
      return;
    }
    const contentType = contentTypeOf(file);
    if (thumb && !contentType.startsWith('image/')) {
      sendOssError(ctx, 400, 'BadRequest', 'The image format is not supported.');
      return;
    }
    const seed = file.seed ?? file.id;
    await serveDownload(ctx, state, {
      seed: thumb ? `${seed}#thumb` : seed,
      size: thumb ? Math.min(THUMB_SIZE, file.size) : file.size,
      contentType,
      // Both hosts are Aliyun OSS (DP: links too); a resized thumbnail is made on the fly, without checksums.
      oss: !thumb,
      withoutCrc64: file.withoutCrc64 === true,
      fileId: file.id,
    });
  },
};

/** Finds and authorises the file behind a DP: URL; otherwise answers the OSS error and returns undefined. */
function dpTarget(
  ctx: RequestContext,
  state: SandboxState,
): { file: SandboxFile; thumb: boolean } | undefined {
  const { url, req } = ctx;
  const name = url.pathname.slice(DP_PREFIX.length);
  const fileId = name.endsWith('.file') ? Buffer.from(name.slice(0, -5), 'base64url').toString('utf8') : '';
  const file = state.files.get(fileId);
  if (!file?.key.startsWith('DP:')) {
    sendOssError(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
    return undefined;
  }
  const authorization = header(req, 'authorization');
  const ossDate = header(req, 'x-oss-date');
  if (!authorization || !ossDate) {
    refuseDownload(ctx, state, 'AccessDenied', 'You have no right to access this object.');
    return undefined;
  }
  if (!state.signer.verifyHeaders(url.pathname, ossDate, authorization)) {
    refuseDownload(
      ctx,
      state,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match.',
    );
    return undefined;
  }
  const signedAt = Date.parse(ossDate);
  if (!Number.isFinite(signedAt) || Math.abs(state.now() - signedAt) > state.dpTtlMs) {
    refuseDownload(
      ctx,
      state,
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
    );
    return undefined;
  }
  return { file, thumb: false };
}

/** Finds and authorises the file behind a query-signed OSS URL; otherwise answers the error, returns undefined. */
function ossTarget(
  ctx: RequestContext,
  state: SandboxState,
): { file: SandboxFile; thumb: boolean } | undefined {
  const { url } = ctx;
  let fileId: string;
  let fileName: string;
  try {
    const rest = url.pathname.slice(OSS_PREFIX.length);
    const slash = rest.indexOf('/');
    fileId = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
    fileName = slash < 0 ? '' : decodeURIComponent(rest.slice(slash + 1));
  } catch {
    sendOssError(ctx, 400, 'InvalidURI', 'Could not parse the specified URI.');
    return undefined;
  }
  const file = state.files.get(fileId);
  if (!file || file.key.startsWith('DP:')) {
    sendOssError(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
    return undefined;
  }
  const checked = checkQuerySignature(ctx, state, `${OSS_PREFIX}${fileId}/${fileName}`);
  if (!checked) return undefined;
  const { process } = checked;
  if (process !== undefined && process !== THUMB_PROCESS) {
    sendOssError(ctx, 400, 'InvalidArgument', 'The x-oss-process parameter is not supported here.');
    return undefined;
  }
  return { file, thumb: process !== undefined };
}
