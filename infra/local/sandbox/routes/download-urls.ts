/**
 * `POST /api/openapi/v2/attachment/downloadurls`: a bare array of ≤100 `{id, key, expiration}` → the known items
 * with signed URLs. Choices where the vendor's behaviour is unknown (clients must not depend on them): answers
 * come in REVERSE request order (a client matching by position breaks in tests); unknown id+key pairs are absent;
 * >100 items or an expiration outside 1..1800 → 400 naming the item; a body that is not a JSON array → 500 with a
 * message (the vendor documents "HTTP 500 with a message" for bad input).
 */
import { parseJson, sendApiError, sendJson, sendMethodNotAllowed } from '../http.js';
import { DP_ACCESS_KEY_ID, OSS_ACCESS_KEY_ID, THUMB_PROCESS } from '../signing.js';
import type { SandboxState } from '../state.js';
import type { SandboxFile } from '../types.js';
import { authorize } from './auth.js';
import { DP_PREFIX, OSS_PREFIX } from './download-paths.js';
import { exactPaths, type RouteSpec } from './route-spec.js';

export const DOWNLOAD_URLS_PATH = '/api/openapi/v2/attachment/downloadurls';
/** The vendor's documented limits. */
const MAX_ITEMS_PER_CALL = 100;
const MAX_EXPIRATION_S = 1800;

interface UrlRequest {
  id: string;
  key: string;
  expiration: number;
}

export const downloadUrlsRoute: RouteSpec = {
  scope: 'downloadurls',
  matches: exactPaths(DOWNLOAD_URLS_PATH),
  handle(ctx, state) {
    state.stats.downloadUrlCalls += 1;
    if (ctx.req.method !== 'POST') {
      sendMethodNotAllowed(ctx);
      return;
    }
    if (!authorize(ctx, state)) return;
    const parsed = parseJson(ctx.body);
    if (!parsed.ok || !Array.isArray(parsed.value)) {
      sendApiError(ctx, 500, '参数错误: 请求体必须是 [{id, key, expiration}] 数组');
      return;
    }
    const items: unknown[] = parsed.value;
    state.stats.downloadUrlItems += items.length;
    state.stats.maxItemsPerCall = Math.max(state.stats.maxItemsPerCall, items.length);
    if (items.length > MAX_ITEMS_PER_CALL) {
      sendApiError(ctx, 400, `参数错误: 最多支持 ${MAX_ITEMS_PER_CALL} 个参数, 收到 ${items.length} 个`);
      return;
    }
    for (const [index, item] of items.entries()) {
      const problem = itemProblem(item);
      if (problem) {
        sendApiError(ctx, 400, `参数错误: 第 ${index} 项 ${problem}`);
        return;
      }
    }
    const now = state.now();
    const answers: Record<string, unknown>[] = [];
    for (const request of items as UrlRequest[]) {
      const file = state.files.get(request.id);
      if (!file || file.key !== request.key) continue;
      answers.push(
        request.key.startsWith('DP:')
          ? dpAnswer(state, file, now)
          : ossAnswer(state, file, Math.floor(now / 1000) + request.expiration),
      );
    }
    answers.reverse();
    sendJson(ctx, 200, answers);
  },
};

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

/** A query-signed OSS URL valid until `expires` (epoch s), and its thumbnail (image/resize) twin. */
function ossAnswer(state: SandboxState, file: SandboxFile, expires: number): Record<string, unknown> {
  const path = `${OSS_PREFIX}${encodeURIComponent(file.id)}/${encodeURIComponent(file.fileName)}`;
  const resource = `${OSS_PREFIX}${file.id}/${file.fileName}`;
  const query = (process?: string) =>
    `?Expires=${expires}&OSSAccessKeyId=${OSS_ACCESS_KEY_ID}` +
    `&Signature=${encodeURIComponent(state.signer.signUrl(resource, expires, process))}` +
    (process ? `&x-oss-process=${encodeURIComponent(process)}` : '');
  return {
    id: file.id,
    key: file.key,
    url: `${state.baseUrl}${path}${query()}`,
    thumbUrl: `${state.baseUrl}${path}${query(THUMB_PROCESS)}`,
  };
}

/** A DingTalk-drive answer: a bare URL plus the Authorization and x-oss-date headers its GET must carry. */
function dpAnswer(state: SandboxState, file: SandboxFile, now: number): Record<string, unknown> {
  const path = `${DP_PREFIX}${Buffer.from(file.id, 'utf8').toString('base64url')}.file`;
  const ossDate = new Date(now).toUTCString();
  return {
    id: file.id,
    key: file.key,
    url: `${state.baseUrl}${path}`,
    thumbUrl: `${state.baseUrl}${path}`,
    headers: {
      Authorization: `OSS ${DP_ACCESS_KEY_ID}:${state.signer.signHeaders(path, ossDate)}`,
      'x-oss-date': ossDate,
    },
  };
}
