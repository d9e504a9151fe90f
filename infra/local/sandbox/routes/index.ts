/**
 * The sandbox's routes, in match order, and every switch it has. Adding a route: write a module exporting a
 * RouteSpec, list it in ROUTES, and (when faults should reach it) add its scope to SandboxRoute in ../types.ts.
 *
 * Routes (fault scope → path):
 *   (none)          GET  /api/openapi/v2/location                       always points back here
 *   token           POST /api/openapi/v1/auth/getAccessToken, POST /api/openapi/v2/auth/refreshToken
 *   downloadurls    POST /api/openapi/v2/attachment/downloadurls       ≤100 items, reverse order, unknown absent
 *   applyList       GET  /api/openapi/v1.1/docs/getApplyList           one type, paged, China-time window
 *   flowDetails     GET  /api/openapi/v1.1/flowDetails(/byCode)        unknown or deleted → 412
 *   flowAttachments POST /api/openapi/v1/flowDetails/attachment        ≤100 forms, files by role, 1-hour URLs
 *   invoiceSearch   POST /api/openapi/v2/extension/flow/INVOICE/search type id|code → invoice ids per form
 *   invoiceUrls     POST /api/openapi/v2/extension/INVOICE/url         XML/PDF/OFD/cropped image, 1-hour URLs
 *   flowsPdf        GET  /api/openapi/v1/flowDetails/getFlowsPdf/[ids] one employee, ≤ flowsPdfMaxBytes
 *   outboundLogs    GET  /api/openapi/v1/outboundMessageLogs           failed outbound messages, epoch-ms range
 *   download        GET/HEAD /oss/… /yundisk0/… (downloadurls), /files-dd/… /vipimg/… (form-package calls)
 *   (none)          /_sandbox/outbound, /_sandbox/forms/<id>/<action>  control routes (see ./control.ts)
 *
 * Fault switches — `sandbox.inject(fault)`; each fires on the next `times` (default 1) matching requests, oldest
 * armed first, then disarms; `clearFaults()` drops them all; `stats.faultsFired` counts them by kind:
 *   status {route, status, retryAfterSeconds?, body?}  any scope ('any' too): 429/5xx/… instead of the answer
 *   slowHeaders {route, delayMs}                       hold the status line back (client headers timeout)
 *   reset {route, afterBytes}                          RST before any byte (0) or after N bytes of the answer
 *   forbiddenAfterIssue                                a fresh token's first data call → 403 (the 2023 quirk)
 *   stallBody {afterBytes, stallMs?, fileId?}          download: pause the body (forever without stallMs)
 *   slowBody {bytesPerSecond, fileId?}                 download: throttle the body (fileId: that file only)
 *   truncate {afterBytes}                              download: full Content-Length, fewer bytes, FIN
 *   expiredUrl                                         download (every host): 403 as if the URL had expired
 *   corruptBody {atByte?}                              download: one byte flipped, right length, true checksums
 *   wrongChecksum {header?: crc64|md5}                 download: a well-formed checksum of other bytes
 *   malformedChecksum {header?, value?}                download: a checksum header that is not one
 *   changingBody                                       download: the object was overwritten (new bytes, new
 *                                                      ETag and checksums) — differs between two GETs
 *   vanishedForm {route, flowId?}                      flowDetails/flowsPdf → 412; flowAttachments/invoiceSearch
 *                                                      leave the form out (for one call)
 *   invoiceUnavailable {invoiceId?}                    INVOICE/url leaves the invoice out (original unavailable)
 *   pdfTooLarge                                        getFlowsPdf → 412 单据内容过大
 *
 * Standing switches — options of startEkuaibaoSandbox (and the methods that change them later):
 *   now (the clock: expire tokens and URLs), tokenTtlMs (2 h), dpSignatureTtlMs (15 min), appKey/appSecurity,
 *   files/forms/invoices/receipts (the tenant; demo by default), integrity {crc64: on, contentMd5: off}
 *   (setIntegrity), flowsPdfMaxBytes (32 MiB), outbound {url, successCodes, keyword, retries 0–3,
 *   retryIntervalMs, timeoutMs, actions, messageType, name} (configureOutbound, POST /_sandbox/outbound).
 *   Per item: SandboxFile.withoutCrc64 (no x-oss-hash-crc64ecma), SandboxInvoice.unavailable (no original).
 *   Tenant changes: addFile, putForm, deleteForm, changeForm, transitionForm (→ outbound message), addInvoice,
 *   putReceipts, revokeTokens.
 */
import { locationRoute, refreshTokenRoute, tokenRoute } from './auth.js';
import { controlRoute } from './control.js';
import { downloadUrlsRoute } from './download-urls.js';
import { downloadsRoute } from './downloads.js';
import { flowAttachmentsRoute } from './flow-attachments.js';
import { flowsPdfRoute } from './flows-pdf.js';
import { applyListRoute, flowDetailsRoute } from './forms.js';
import { invoiceSearchRoute, invoiceUrlsRoute } from './invoices.js';
import { outboundLogsRoute } from './outbound-logs.js';
import { packageDownloadsRoute } from './package-downloads.js';
import type { RouteSpec } from './route-spec.js';

export const ROUTES: readonly RouteSpec[] = [
  locationRoute,
  tokenRoute,
  refreshTokenRoute,
  downloadUrlsRoute,
  applyListRoute,
  flowDetailsRoute,
  flowAttachmentsRoute,
  invoiceSearchRoute,
  invoiceUrlsRoute,
  flowsPdfRoute,
  outboundLogsRoute,
  downloadsRoute,
  packageDownloadsRoute,
  controlRoute,
];

export function findRoute(pathname: string): RouteSpec | undefined {
  return ROUTES.find((r) => r.matches(pathname));
}
