/**
 * One error base for the whole project and the catalogue of every code it may carry. Callers decide by `code` and
 * `retryable`, never by message text. Messages must be safe to show: no token, app secret, signed-URL query or
 * download header ever goes in one.
 *
 * Codes are part of the contract: they appear in batch reports, job status answers and API error bodies, so a code
 * is added here, never invented at a throw site.
 */
export const ErrorCode = {
  // Caller input
  InvalidInput: 'invalid_input',
  TooLarge: 'too_large',
  UnsupportedMediaType: 'unsupported_media_type',
  MethodNotAllowed: 'method_not_allowed',
  NotFound: 'not_found',
  JobNotFound: 'job_not_found',
  InvalidRef: 'invalid_ref',
  InvalidObjectKey: 'invalid_object_key',
  InvalidTargetKey: 'invalid_target_key',
  /** A key template that is malformed or whose fixed root lies outside the archive lanes (core/attachments/lanes.ts). */
  InvalidKeyTemplate: 'invalid_key_template',
  /** An object key inside a system lane (jobs/, sync/, manifests/, hooks/, verify/). */
  TargetInSystemLane: 'target_in_system_lane',
  /** An object key outside every archive lane. */
  TargetOutsideArchiveLanes: 'target_outside_archive_lanes',
  /** Another ref of the same job already maps to this object key. */
  TargetKeyConflict: 'target_key_conflict',
  /** An object that is not this ref's file already sits at the key (and the job does not overwrite). */
  TargetOccupied: 'target_occupied',
  /** A conditional write lost to another writer (S3 412/409); settled by reading what is there now. */
  WriteConflict: 'write_conflict',
  UnrecognisedEvent: 'unrecognised_event',
  // Our own limits and configuration
  Misconfigured: 'misconfigured',
  Aborted: 'aborted',
  /** The person running the work stopped it (the CLI's Ctrl-C): nothing is wrong with the file (retryable). */
  Cancelled: 'cancelled',
  /** The one deadline code: work stopped before the function's deadline (retryable). */
  Deadline: 'deadline',
  Internal: 'internal',
  // 合思 Open API
  EkuaibaoAuth: 'ekuaibao_auth',
  EkuaibaoTimeout: 'ekuaibao_timeout',
  EkuaibaoNetwork: 'ekuaibao_network',
  EkuaibaoBadResponse: 'ekuaibao_bad_response',
  EkuaibaoCredentialsUnavailable: 'ekuaibao_credentials_unavailable',
  EkuaibaoCredentialsMalformed: 'ekuaibao_credentials_malformed',
  ResolverMismatch: 'resolver_mismatch',
  ResolverRefused: 'resolver_refused',
  BadUpstreamResponse: 'bad_upstream_response',
  // Downloads and uploads
  DownloadFailed: 'download_failed',
  DownloadHostNotAllowed: 'download_host_not_allowed',
  DownloadDnsFailed: 'download_dns_failed',
  /** The body's length differs from its Content-Length (short, broken or overlong body). */
  Integrity: 'integrity',
  /** The body's bytes do not match the checksum the source sent with them, on two downloads. */
  IntegrityMismatch: 'integrity_mismatch',
  /** The source sent a checksum header that is not one (cannot be read as CRC-64 or MD5), on two downloads. */
  SourceChecksumInvalid: 'source_checksum_invalid',
  HeadFailed: 'head_failed',
  UploadFailed: 'upload_failed',
  CopyFailed: 'copy_failed',
  BatchFailed: 'batch_failed',
  // Jobs, manifests, reports, the queue
  ManifestNotFound: 'manifest_not_found',
  ManifestForbidden: 'manifest_forbidden',
  ManifestReadFailed: 'manifest_read_failed',
  InputUnreadable: 'input_unreadable',
  ReportWriteFailed: 'report_write_failed',
  ReportReadFailed: 'report_read_failed',
  ReportListFailed: 'report_list_failed',
  ReportInvalid: 'report_invalid',
  QueueSendFailed: 'queue_send_failed',
  MessageTooLarge: 'message_too_large',
  FanOutFailed: 'fan_out_failed',
  // Scheduled sync
  SyncLockLost: 'sync_lock_lost',
  /** A run whose process stopped (the local stack releases its lock at the next start). */
  SyncInterrupted: 'sync_interrupted',
  SyncStateInvalid: 'sync_state_invalid',
  SyncStateContended: 'sync_state_contended',
  SyncListingUnstable: 'sync_listing_unstable',
  StateReadFailed: 'state_read_failed',
  StateWriteFailed: 'state_write_failed',
  // Form packages
  /** INVOICE/url cannot produce the invoice's file (its original). */
  InvoiceUnavailable: 'invoice_unavailable',
  /** flowDetails/attachment no longer lists the file on the form. */
  FlowFileNotFound: 'flow_file_not_found',
  /** The form no longer exists (flowDetails 412, or absent from flowDetails/attachment). */
  FormNotFound: 'form_not_found',
  /** The form changed after its package was planned: the new version is archived by the next run. */
  FormChanged: 'form_changed',
  /** getFlowsPdf refused: the form with its attachments is over 32 MB (412 单据内容过大). */
  PrintTooLarge: 'print_too_large',
  /** getFlowsPdf refused for another reason (412). */
  PrintRefused: 'print_refused',
  /** The package index waits for files that will be tried again (or for earlier parts of a split package). */
  PackagePending: 'package_pending',
  // The local stack's own stores (infra/local): one process per data folder, a readable queue file
  LocalDataLocked: 'local_data_locked',
  LocalDataUnusable: 'local_data_unusable',
  LocalQueueLocked: 'local_queue_locked',
  LocalQueueOpen: 'local_queue_open',
  LocalQueueUnreadable: 'local_queue_unreadable',
  /** The CLI: another run of the same job (same --job-id and bucket) holds it on this machine. */
  JobInUse: 'job_in_use',
} as const;

/** A catalogued code, or an HTTP status answered by a download or by 合思 (`download_http_404`). */
export type ErrorCode =
  | (typeof ErrorCode)[keyof typeof ErrorCode]
  | `download_http_${number}`
  | `ekuaibao_http_${number}`;

export interface AppErrorOptions {
  retryable?: boolean;
  /** HTTP status to answer with when this error reaches an API handler (4xx shows its message, 5xx a generic one). */
  status?: number;
  cause?: unknown;
  /** Extra, already-redacted facts for logs and reports. */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.status = options.status ?? 500;
    this.details = options.details;
  }
}

/** Bad input from a caller: always a 400-class answer with a message naming what is wrong. */
export class ValidationError extends AppError {
  constructor(message: string, options: Omit<AppErrorOptions, 'retryable'> = {}) {
    super(ErrorCode.InvalidInput, message, { status: 400, ...options, retryable: false });
  }
}

/** The caller sent more than we accept in one request (413). */
export class TooLargeError extends AppError {
  constructor(message: string) {
    super(ErrorCode.TooLarge, message, { status: 413, retryable: false });
  }
}

/** A failure talking to the 合思 Open API. `status` is the HTTP status we answer with (502/503/504). */
export class EkuaibaoError extends AppError {}

/** Credentials were refused by 合思 (bad appKey/appSecurity), or a fresh token was refused again. */
export class EkuaibaoAuthError extends EkuaibaoError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super(ErrorCode.EkuaibaoAuth, message, { status: 502, ...options, retryable: false });
  }
}

/** The operation was cancelled by the caller's AbortSignal (Ctrl-C, a caller going away). Retryable by nature. */
export class AbortedError extends AppError {
  constructor(message = 'aborted', cause?: unknown) {
    super(ErrorCode.Aborted, message, { status: 503, retryable: true, cause });
  }
}

/**
 * The person running the work stopped it (Ctrl-C): the reason of the abort signal the CLI hands the copy engine, so
 * unfinished files are reported `cancelled`, not as a deadline. Retryable: running the work again finishes them.
 */
export class CancelledError extends AppError {
  constructor(message: string) {
    super(ErrorCode.Cancelled, message, { status: 499, retryable: true });
  }
}

/** Work stopped because the function's deadline is near; what did not finish is handed back to be retried. */
export class DeadlineError extends AppError {
  constructor(message: string, options: Omit<AppErrorOptions, 'retryable'> = {}) {
    super(ErrorCode.Deadline, message, { status: 504, ...options, retryable: true });
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
