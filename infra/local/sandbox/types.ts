/**
 * The public face of the 合思 sandbox: a real HTTP server on 127.0.0.1 that speaks the Open API contract
 * (../shared/ekuaibao-api.md) and serves the signed downloads, with switches for every fault the contract allows.
 * Tests and the local stack both start it with `startEkuaibaoSandbox()` from ./server.ts.
 */
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';

/** A file the sandbox knows. Bodies are generated deterministically from `seed` (never held in memory). */
export interface SandboxFile {
  /** The fileId sent as `id` to downloadurls. */
  id: string;
  /** The storage key, byte for byte (ordinary `openapi<uuid>-<name>` keys, or `DP:{json}` DingTalk keys). */
  key: string;
  /** The original file name. */
  fileName: string;
  /** Size in bytes (any size; 4 GiB works). */
  size: number;
  /** Content seed; defaults to the id. */
  seed?: string;
  contentType?: string;
  /** Uploaded before OSS computed CRC-64: downloads carry no `x-oss-hash-crc64ecma` (the source is unverifiable). */
  withoutCrc64?: boolean;
}

/** What OSS-style downloads say about their bytes. */
export interface IntegritySwitches {
  /** `x-oss-hash-crc64ecma` on OSS-style downloads (default on, as OSS does). */
  crc64: boolean;
  /** `Content-MD5` (base64) on whole-object OSS-style downloads (default off: OSS sends it for some uploads only). */
  contentMd5: boolean;
}

export type SandboxRoute =
  | 'token'
  | 'downloadurls'
  | 'applyList'
  | 'flowDetails'
  /** Every file GET: oss/, yundisk0/ (DP:), files-dd/ (OSS-style), vipimg/ (?e=&token= style). */
  | 'download'
  /** POST /api/openapi/v1/flowDetails/attachment */
  | 'flowAttachments'
  /** POST /api/openapi/v2/extension/flow/INVOICE/search */
  | 'invoiceSearch'
  /** POST /api/openapi/v2/extension/INVOICE/url */
  | 'invoiceUrls'
  /** GET /api/openapi/v1/flowDetails/getFlowsPdf/[ids] */
  | 'flowsPdf'
  /** GET /api/openapi/v1/outboundMessageLogs */
  | 'outboundLogs'
  | 'any';

/**
 * An invoice (发票) of the tenant. Forms point at it from a fee detail:
 * `details[].feeTypeForm.invoiceForm.invoices[] = {invoiceId, itemIds}`.
 */
export interface SandboxInvoice {
  /** As the vendor writes them: `<corp>:<发票代码>:<发票号码>`, `<corp>::<发票号码>` (数电票), or opaque. */
  id: string;
  /** invoice (增值税), taxi, train, fixed (定额), … */
  type: string;
  itemIds: string[];
  /** 发票代码 (none for 数电票 and train tickets). flowDetails/attachment sends it as `invoiceNumber`. */
  code?: string;
  /** 发票号码. flowDetails/attachment sends it as `invoiceCode` (the vendor's swap). */
  number?: string;
  /** How it was entered: ocr, upload, query, … */
  source: string;
  /** The OCR region INVOICE/url reports ([] for XML). */
  region: number[];
  /** The invoice's file: XML (the signed original of a 数电票), PDF, OFD or an image. */
  file: {
    fileId?: string;
    key: string;
    fileName: string;
    size: number;
    /** For images: the OCR crop INVOICE/url serves (`image/crop,w_…,h_…,x_…,y_…,g_nw`), not the photo. */
    crop?: string;
  };
  /** The vendor cannot produce the original: INVOICE/url leaves it out, flowDetails/attachment lists no file. */
  unavailable?: boolean;
}

/** A bank receipt (回单) of a paid form: no fileId, so only flowDetails/attachment can sign it. */
export interface SandboxReceipt {
  key: string;
  size: number;
}

/**
 * What happens to a form in 合思, as the sandbox plays it (each sends an outbound message when configured):
 * submit → approving (backlog.approving 待审批); approve → paying (backlog.paying 待支付) for expense, loan and
 * payment forms, else paid (flow.paid); pay → paid (flow.paid 已支付/审批完成); reject → rejected (flow.rejected
 * 被驳回); withdraw → draft (单据撤回); comment → same state (freeflow.comment 评论, optionally with an
 * attachment); delete → deleted (单据删除; updateTime kept).
 */
export type SandboxFormAction = 'submit' | 'approve' | 'pay' | 'reject' | 'withdraw' | 'comment' | 'delete';

/** How the tenant admin configured the outbound message (出站消息) for approval events. */
export interface SandboxOutboundConfig {
  /** Where 合思 POSTs: http(s). */
  url: string;
  /** HTTP codes that count as delivered; the vendor offers 200, 201 and 204 (default [200]). */
  successCodes?: number[];
  /** Also required in the answer's body for success (关键字匹配; default none). */
  keyword?: string;
  /** Retries after a failed attempt: 0–3 (default 0, as the vendor's). */
  retries?: number;
  /** Wait between attempts; the vendor offers 0 or 1–10 s (default 1000 ms). At most 10 000. */
  retryIntervalMs?: number;
  /** One attempt's time limit (default 10 000 ms). */
  timeoutMs?: number;
  /** Only these actions are sent (e.g. ['flow.paid']); default every one. */
  actions?: string[];
  /** The log's messageType: `message` (approval events, default) or `flow` (E-Bot). */
  messageType?: 'message' | 'flow';
  /** The configuration's name (出站消息配置名称) in the failure log. */
  name?: string;
}

/** One outbound message's fate (for tests; carries no URL). */
export interface SandboxOutboundDelivery {
  flowId: string;
  action: string;
  state: 'SUCCESS' | 'FAILURE';
  /** HTTP status of each attempt (0: no answer — refused, reset or timed out). */
  statuses: number[];
  /** The body POSTed. */
  request: Record<string, unknown>;
}

/** A change to a form, as an employee editing it would make (new updateTime; optionally a new attachment). */
export interface SandboxFormChange {
  /** Appended to `form.attachments`; its file is registered (fileId and key default from the name). */
  attachment?: { fileName: string; size: number; fileId?: string; key?: string };
  title?: string;
}

/** A fault applies to the next `times` matching requests (default 1), then disarms itself. */
export type SandboxFault =
  /** Answer with this status (e.g. 429 with Retry-After, 500/502/503/504) instead of the real answer. */
  | {
      kind: 'status';
      route: SandboxRoute;
      status: number;
      retryAfterSeconds?: number;
      body?: string;
      times?: number;
    }
  /** Wait before sending the status line and headers. */
  | { kind: 'slowHeaders'; route: SandboxRoute; delayMs: number; times?: number }
  /**
   * Send the first `afterBytes` of the body, then stall for `stallMs` (or forever when omitted) before going on.
   * With `fileId`, only downloads of that file.
   */
  | {
      kind: 'stallBody';
      route: 'download';
      afterBytes: number;
      stallMs?: number;
      fileId?: string;
      times?: number;
    }
  /** Throttle the body to this many bytes per second. With `fileId`, only downloads of that file. */
  | { kind: 'slowBody'; route: 'download'; bytesPerSecond: number; fileId?: string; times?: number }
  /**
   * Announce the full Content-Length, send `afterBytes`, then close the connection (FIN, no RST): the client
   * sees a body shorter than Content-Length, i.e. a premature close, never a clean shorter response.
   */
  | { kind: 'truncate'; route: 'download'; afterBytes: number; times?: number }
  /** Send `afterBytes` (0 = before any byte of the answer), then destroy the socket (ECONNRESET for the client). */
  | { kind: 'reset'; route: SandboxRoute; afterBytes: number; times?: number }
  /** The first data call with a freshly issued token answers 403 未授权 (the 2023 vendor quirk). */
  | { kind: 'forbiddenAfterIssue'; times?: number }
  /** Downloads answer 403 as if the signed URL had expired. */
  | { kind: 'expiredUrl'; times?: number }
  /**
   * Downloads (GET): one byte flipped at `atByte` of the object (default: its middle), length unchanged; the
   * checksum headers still describe the true bytes.
   */
  | { kind: 'corruptBody'; atByte?: number; times?: number }
  /**
   * Downloads: the checksum header carries a well-formed value of other bytes (`crc64` by default; `md5` sends a
   * wrong Content-MD5 even when that switch is off).
   */
  | { kind: 'wrongChecksum'; header?: 'crc64' | 'md5'; times?: number }
  /** Downloads: the checksum header is not a checksum (`value`, default `not-a-checksum`). */
  | { kind: 'malformedChecksum'; header?: 'crc64' | 'md5'; value?: string; times?: number }
  /**
   * Downloads: the object was overwritten since the last GET — same length, other bytes, and ETag and checksum
   * headers that describe the new bytes. Each firing serves a new version; later GETs serve the original again.
   */
  | { kind: 'changingBody'; times?: number }
  /**
   * A form vanishes between being listed and being fetched: for the next matching call the form (`flowId`, or
   * every form asked for) behaves as deleted — flowDetails and getFlowsPdf answer 412, flowDetails/attachment and
   * INVOICE/search leave it out (all absent: 400 单据不存在 for flowDetails/attachment).
   */
  | {
      kind: 'vanishedForm';
      route: 'flowDetails' | 'flowAttachments' | 'invoiceSearch' | 'flowsPdf' | 'any';
      flowId?: string;
      times?: number;
    }
  /** INVOICE/url cannot produce the original of `invoiceId` (or of every invoice asked for): left out. */
  | { kind: 'invoiceUnavailable'; invoiceId?: string; times?: number }
  /** getFlowsPdf answers 412 单据内容过大 whatever the size. */
  | { kind: 'pdfTooLarge'; times?: number };

export interface SandboxStats {
  tokenCalls: number;
  downloadUrlCalls: number;
  /** Items across all downloadurls calls. */
  downloadUrlItems: number;
  /** Largest array one downloadurls call carried. */
  maxItemsPerCall: number;
  applyListCalls: number;
  flowDetailsCalls: number;
  /** Download GETs started / completed in full. */
  downloadsStarted: number;
  downloadsCompleted: number;
  /** Faults that fired, by kind. */
  faultsFired: Record<string, number>;
  /** Download GETs refused with 403 (expired, bad signature, missing or stale DP: headers, expiredUrl fault). */
  downloadsRefused?: number;
  /** Data calls refused 403 未授权 (missing, unknown, expired or revoked token; forbiddenAfterIssue). */
  unauthorizedCalls?: number;
  /** POST /api/openapi/v2/auth/refreshToken calls. */
  refreshTokenCalls?: number;
  flowAttachmentCalls?: number;
  invoiceSearchCalls?: number;
  invoiceUrlCalls?: number;
  flowsPdfCalls?: number;
  outboundLogCalls?: number;
  /** Outbound POST attempts (retries included), messages delivered, messages that failed every attempt. */
  outboundAttempts?: number;
  outboundDelivered?: number;
  outboundFailed?: number;
}

export interface SandboxOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  appKey?: string;
  appSecurity?: string;
  /** Access token lifetime; the vendor's is about 2 h. */
  tokenTtlMs?: number;
  /** DP: header-signed downloads are accepted only this long after signing (OSS: ~15 min). */
  dpSignatureTtlMs?: number;
  /** Files known at start; defaults to the demo set (demoFiles()). Pass [] for none. */
  files?: SandboxFile[];
  /** Forms known at start; defaults to the demo set (demoForms()). Pass [] for none. */
  forms?: EkuaibaoForm[];
  /** The sandbox's clock, epoch ms (tests move it to expire tokens and URLs). */
  now?: () => number;
  /** Integrity headers of OSS-style downloads (default: CRC-64 on, Content-MD5 off). */
  integrity?: Partial<IntegritySwitches>;
  /** Invoices known at start; defaults to the demo set when `forms` is not given, else none. */
  invoices?: SandboxInvoice[];
  /** Bank receipts per form id; defaults to the demo set when `forms` is not given, else none. */
  receipts?: Record<string, SandboxReceipt[]>;
  /** getFlowsPdf refuses (412) forms whose content (attachments and invoice files) exceeds this; vendor: 32 MB. */
  flowsPdfMaxBytes?: number;
  /** Send outbound messages from the start (also: configureOutbound, or POST /_sandbox/outbound). */
  outbound?: SandboxOutboundConfig;
}

export interface EkuaibaoSandbox {
  /** e.g. http://127.0.0.1:41234 — what EKB_BASE_URL should be. */
  readonly baseUrl: string;
  readonly appKey: string;
  readonly appSecurity: string;
  readonly stats: SandboxStats;
  resetStats(): void;
  addFile(file: SandboxFile): void;
  /** Adds or replaces a form (by id); its attachments' files are registered when they carry a size. */
  putForm(form: EkuaibaoForm): void;
  /** Marks a form deleted: flowDetails answers 412, getApplyList lists it only when `active` is not true. */
  deleteForm(id: string): void;
  inject(fault: SandboxFault): void;
  clearFaults(): void;
  /** Invalidates every token issued so far (as if revoked mid-run); new tokens work. */
  revokeTokens(): void;
  /** Every access and refresh token issued so far, revoked ones included (tests prove none leaked). */
  issuedTokens?(): string[];
  /** SHA-256 (hex) of a file's generated body, streamed. */
  sha256(fileId: string): Promise<string>;
  /** Adds or replaces an invoice (by id). */
  addInvoice(invoice: SandboxInvoice): void;
  /** Sets a form's bank receipts (replacing any). */
  putReceipts(flowId: string, receipts: SandboxReceipt[]): void;
  /**
   * Changes a live form as its owner editing it would: updateTime becomes the sandbox's now, and the change's
   * attachment (if any) is appended and registered. Returns the form as flowDetails now shows it.
   */
  changeForm(flowId: string, change?: SandboxFormChange): EkuaibaoForm;
  /**
   * SHA-256 (hex) of what the sandbox serves for a storage key on the form-package hosts (files-dd/, vipimg/):
   * attachments by key, invoice files, receipts; with `process` (an x-oss-process value), of the processed image.
   */
  objectSha256(key: string, process?: string): Promise<string>;
  /** SHA-256 (hex) of what INVOICE/url's `url` for this invoice serves (the crop, for a cropped image). */
  invoiceSha256(invoiceId: string): Promise<string>;
  /** The PDF getFlowsPdf serves for these form ids now (deterministic for a given state of the forms). */
  flowsPdf(flowIds: string[]): Buffer;
  /**
   * Configures the outbound message (undefined: none). Throws RangeError for what the vendor's console would
   * refuse (retries outside 0–3, a success code other than 200/201/204, a URL that is not http(s)).
   */
  configureOutbound(config: SandboxOutboundConfig | undefined): void;
  /**
   * Moves a live form through an approval event (see SandboxFormAction): new state, updateTime and log entry,
   * then the outbound message, sent in the background with the configured retry rule; failed deliveries land
   * in the log outboundMessageLogs answers from. Returns the form as flowDetails now shows it.
   */
  transitionForm(
    flowId: string,
    action: SandboxFormAction,
    options?: { attachment?: { fileName: string; size: number } },
  ): EkuaibaoForm;
  /** Resolves once every outbound message sent so far has been delivered or has failed for good. */
  outboundSettled(): Promise<void>;
  /** Every outbound message so far, oldest first. */
  outboundDeliveries(): SandboxOutboundDelivery[];
  /** Turns the integrity headers of OSS-style downloads on or off from now on. */
  setIntegrity(switches: Partial<IntegritySwitches>): void;
  /**
   * What OSS-style downloads of a file say about its bytes: CRC-64/XZ (decimal) and MD5 (base64). Computed once
   * and kept; calling it before a timed download takes the first-GET cost (~1 s per GiB) out of the timing.
   */
  checksums(fileId: string): Promise<{ crc64: string; md5: string }>;
  close(): Promise<void>;
}
