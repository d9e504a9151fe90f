/**
 * The one-hour URLs of the form-package calls (flowDetails/attachment, INVOICE/url), on the two host shapes
 * 合思 hands out besides downloadurls' OSS links: OSS-style query signatures with an STS security-token
 * (`files-dd`), and `?e=<deadline>&token=<ak>:<sig>` (the `vipimg` host of older uploads). Both die with 403.
 */

import { FILES_DD_PREFIX, VIPIMG_PREFIX } from './routes/download-paths.js';
import { OSS_ACCESS_KEY_ID } from './signing.js';
import type { SandboxState } from './state.js';

/** "响应数据中附件的下载链接有效期 1个小时" / "图片链接有效期为一个小时". */
export const PACKAGE_URL_TTL_S = 3600;
/** An opaque STS token, as OSS-style links carry one (not checked: the signature is). */
const SECURITY_TOKEN = 'CAISsandboxSTSsecuritytoken0000';

/** Epoch seconds at which a URL issued now dies. */
export function packageUrlDeadline(state: SandboxState): number {
  return Math.floor(state.now() / 1000) + PACKAGE_URL_TTL_S;
}

export function ossStyleUrl(state: SandboxState, key: string, expires: number, process?: string): string {
  const signature = state.signer.signUrl(`${FILES_DD_PREFIX}${key}`, expires, process);
  return (
    `${state.baseUrl}${FILES_DD_PREFIX}${encodeURIComponent(key)}?Expires=${expires}` +
    `&OSSAccessKeyId=${OSS_ACCESS_KEY_ID}&Signature=${encodeURIComponent(signature)}` +
    (process ? `&x-oss-process=${encodeURIComponent(process)}` : '') +
    `&security-token=${SECURITY_TOKEN}`
  );
}

export function deadlineUrl(state: SandboxState, key: string, deadline: number): string {
  const token = state.signer.signDeadline(`${VIPIMG_PREFIX}${key}`, deadline);
  return `${state.baseUrl}${VIPIMG_PREFIX}${encodeURIComponent(key)}?e=${deadline}&token=${token}`;
}

/**
 * Where a stored object's link points: keys of Open API uploads (`openapi…`) on the OSS-style host, the older
 * `<name>-<epoch ms>-<n>.<ext>` uploads and receipts on the `?e=&token=` host — so one answer mixes both.
 */
export function storedObjectUrl(state: SandboxState, key: string, deadline: number): string {
  return key.startsWith('openapi') ? ossStyleUrl(state, key, deadline) : deadlineUrl(state, key, deadline);
}
