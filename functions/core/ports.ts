/**
 * Everything the core needs from the outside world, in one place. The core receives these as arguments and never
 * imports an adapter: AWS adapters live in functions/aws/, the local stand-ins in infra/local/, and tests hand in
 * plain fakes.
 */
import type { Readable } from 'node:stream';
import type { BatchMessage } from './model/batch.js';
import type { S3Checksum } from './model/copy-result.js';
import type { FlowAttachments, FlowsPdfAnswer, InvoiceFile, InvoiceOnForm } from './model/form-files.js';
import type { ApplyListPage, ApplyListQuery, EkuaibaoForm } from './model/forms.js';
import type { AttachmentRef } from './model/refs.js';
import type { Resolution } from './model/resolution.js';

// ---- logging --------------------------------------------------------------------------------------------------

export type LogFields = Record<string, unknown>;

/** Structured, redacting logs (functions/logger.ts); tests pass `silentLogger` or a capturing fake. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose every line also carries `fields` (request, job and batch ids). */
  child(fields: LogFields): Logger;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

// ---- 合思 ------------------------------------------------------------------------------------------------------

/** The app credentials 合思 exchanges for an access token. `appSecurity` is a secret: never logged or shown. */
export interface EkuaibaoCredentials {
  appKey: string;
  appSecurity: string;
}

/** Where the client gets credentials from: a constant, or an adapter (env, Secrets Manager) that may be async. */
export type CredentialsSource = () => Promise<EkuaibaoCredentials> | EkuaibaoCredentials;

export interface ResolveOptions {
  /** Seconds the URLs stay valid, 1..1800 (default 1800). */
  expiration?: number;
  signal?: AbortSignal;
}

/** The port everything that needs download URLs depends on. Answers come back in the order of `refs`. */
export interface DownloadUrlResolver {
  resolveDownloadUrls(refs: readonly AttachmentRef[], options?: ResolveOptions): Promise<Resolution[]>;
}

/** The forms side of the 合思 client, used by the scheduled sync. */
export interface FormsSource {
  getApplyList(query: ApplyListQuery): Promise<ApplyListPage>;
  /** undefined when 合思 answers 412 (unknown or deleted form). */
  getFlowDetails(
    by: { flowId: string } | { code: string },
    signal?: AbortSignal,
  ): Promise<EkuaibaoForm | undefined>;
}

/** One failed outbound-message delivery from 合思's failure log (outboundMessageLogs). */
export interface OutboundFailure {
  /** The log entry's id (出站消息实例ID). */
  id: string;
  flowId: string;
  messageType: string;
  createTime: number;
  /** `action` of the message that failed, when it had one. */
  action?: string;
}

/** 合思's failure log of outbound messages, as the scheduled run replays it (core/ekuaibao/outbound-logs.ts). */
export interface OutboundFailureSource {
  listOutboundFailures(
    query: { messageType: string; startMs: number; endMs: number },
    signal?: AbortSignal,
  ): Promise<OutboundFailure[]>;
}

// ---- starting a form's archive --------------------------------------------------------------------------------

/** How a form's archive was started: a pushed outbound message, or a failed one replayed from the log. */
export type ArchiveVia = 'push' | 'replay';

export interface FormArchiveStart {
  flowId: string;
  via: ArchiveVia;
  /** Stable per event (its dedupe key): the same event always names the same job. */
  eventId: string;
}

export interface FormArchiveStarted {
  outcome: 'queued' | 'unknown_form' | 'nothing_to_archive';
  jobId?: string;
}

/**
 * The one port the receiving route and the replay hand a form to: it starts that form's archive on the same path
 * as the sync (core/hooks/walk-archiver.ts: the form's files as a copy job; or a form-archive request).
 */
export interface FormArchiver {
  startFormArchive(input: FormArchiveStart, signal?: AbortSignal): Promise<FormArchiveStarted>;
}

/**
 * The calls that sign a form's files besides downloadurls: flowDetails/attachment (every file on a form by role,
 * receipts without fileId included; ≤100 forms a call, the client cuts longer lists) and INVOICE/url (invoice
 * files). Forms and invoices 合思 does not know are simply absent from the answers.
 */
export interface FormFilesSource {
  getFlowAttachments(flowIds: readonly string[], signal?: AbortSignal): Promise<FlowAttachments[]>;
  getInvoiceUrls(invoiceIds: readonly string[], signal?: AbortSignal): Promise<InvoiceFile[]>;
}

/** Everything a form package needs from 合思: the form, its files, its invoices and its print PDF. */
export interface FormPackageSource extends FormFilesSource, Pick<FormsSource, 'getFlowDetails'> {
  /** Invoice ids per form (INVOICE/search), keyed by the id or code as sent; forms without invoices are absent. */
  searchInvoices(
    by: 'id' | 'code',
    values: readonly string[],
    signal?: AbortSignal,
  ): Promise<Map<string, InvoiceOnForm[]>>;
  /** The print PDF of forms of one employee (getFlowsPdf), streamed. */
  getFlowsPdf(flowIds: readonly string[], signal: AbortSignal): Promise<FlowsPdfAnswer>;
}

// ---- the bucket -----------------------------------------------------------------------------------------------

/** An object already at the target key. */
export interface ObjectHead {
  size: number;
  /** User metadata, lower-case keys (S3 answers them that way). */
  metadata: Record<string, string>;
  /** The current version (versioned buckets). */
  versionId?: string;
  /** The version's entity tag: an opted-in overwrite names it (If-Match), so it replaces only what it looked at. */
  etag?: string;
  /** ISO time the object was written. */
  lastModified?: string;
  /** The checksum S3 keeps with the object, when it keeps one. */
  checksum?: S3Checksum;
  /** Object tags, read only when the metadata lacks the SHA-256 (a multipart object carries it as a tag). */
  tags?: Record<string, string>;
}

/** One page of keys in S3's order (UTF-8 bytes). */
export interface KeyListing {
  keys: string[];
  /** More keys follow the last one listed. */
  truncated: boolean;
}

/**
 * A write's precondition (S3 conditional writes): `ifNoneMatch` writes only where no object is, `ifMatch` only over
 * the version with that entity tag. A write that loses rejects with AppError `write_conflict` and writes nothing.
 */
export type WriteCondition = { ifNoneMatch: true } | { ifMatch: string };

export interface PutObjectOptions {
  /** Exact body length when the source announced it; lets the sink pick a part size. */
  contentLength?: number;
  contentType: string;
  contentDisposition: string;
  metadata: Record<string, string>;
  /** Aborting it must abort the upload and leave no object (and no multipart parts) behind. */
  signal: AbortSignal;
  condition?: WriteCondition;
  /**
   * The body's hex SHA-256, callable once the body has ended (and so passed its checks). The sink stores it with
   * the object: metadata `sha256` (and an S3 SHA-256 checksum) on a single PUT, a tag on a multipart upload.
   */
  sha256?: () => string | undefined;
  /**
   * Called with the body's length once the sink holds the whole body (it has ended and passed its checks) and still
   * has to send it: the copy may give the file's download slot to the next file then (transfer-slots.ts). A sink that
   * streams the body into its upload does not call it.
   */
  bodyIn?: (bytes: number) => void;
}

/** What the store says about an object it has just written. */
export interface PutObjectResult {
  bytes: number;
  versionId?: string;
  /** The checksum S3 verified and keeps with the object (when checksums are on). */
  checksum?: S3Checksum;
}

/** Where archived files go (S3 in AWS and locally). */
export interface ObjectSink {
  /** undefined when there is no object at `key`. */
  head(key: string, signal?: AbortSignal): Promise<ObjectHead | undefined>;
  /** Streams `body` to `key`. Rejects (leaving no object) when the body errors, the signal aborts or the store fails. */
  put(key: string, body: Readable, options: PutObjectOptions): Promise<PutObjectResult>;
  /**
   * Keys under `prefix` that sort after `startAfter`, at most `maxKeys` (one ListObjectsV2 call). Lets the copy
   * worker learn which of a batch's keys exist with one request (copy/target-probe.ts); a sink without it is asked
   * with one `head` per key.
   */
  listKeys?(
    query: { prefix: string; startAfter?: string; maxKeys: number },
    signal?: AbortSignal,
  ): Promise<KeyListing>;
}

/** One page of a bucket listing. */
export interface ObjectListing {
  objects: Array<{ key: string; size: number }>;
  /** More objects follow the last one of this page. */
  truncated: boolean;
}

/** What verify reads of the archive (S3 in AWS and locally). */
export interface ArchiveReader {
  /** HEAD with checksum mode, plus the SHA-256 tag of large objects; undefined when there is no object. */
  head(key: string, signal?: AbortSignal): Promise<ObjectHead | undefined>;
  /** The object's bytes, streamed. */
  read(key: string, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
  /** Keys under `prefix` after `startAfter`, one page (≤1,000), in key order. */
  list(prefix: string, startAfter: string | undefined, signal?: AbortSignal): Promise<ObjectListing>;
}

/** The storage port for job records and reports (S3 in AWS and locally). */
export interface ReportStore {
  putJson(key: string, value: unknown): Promise<void>;
  getJson<T>(key: string): Promise<T | undefined>;
  /** Keys under a prefix, all pages. */
  list(prefix: string): Promise<string[]>;
}

/**
 * Text objects in the system lanes, written and read whole (each is small: one batch's file index, one verify
 * unit's findings) and listed by prefix, so a job of any size is read one object at a time.
 */
export interface TextStore {
  putText(key: string, text: string, contentType: string): Promise<void>;
  /** undefined when there is no such object. */
  getText(key: string): Promise<string | undefined>;
  /** Keys under a prefix, all pages, in key order. */
  list(prefix: string): Promise<string[]>;
}

/** A stored value and the version tag (S3 ETag) a conditional write must name. */
export interface Versioned<T> {
  value: T;
  etag: string;
}

/** Storage with compare-and-set: what the sync's state and lock live behind (S3 conditional writes in AWS). */
export interface VersionedStore {
  get<T>(key: string): Promise<Versioned<T> | undefined>;
  /**
   * Writes `value` only if the stored version is still `etag` (`null`: only if nothing is stored yet).
   * Resolves to the new etag, or `undefined` when someone else wrote first (the caller lost the race).
   */
  putIfMatch(key: string, value: unknown, etag: string | null): Promise<string | undefined>;
}

/** A manifest object opened for streaming (S3 GetObject body; never read whole). */
export interface ManifestObject {
  body: AsyncIterable<Uint8Array | string>;
  eTag?: string;
  versionId?: string;
  contentLength?: number;
}

/** Where manifests are opened from (S3 in AWS and locally). */
export interface ManifestSource {
  /** Throws AppError `manifest_not_found` (status 400) when there is no such object. */
  open(bucket: string, key: string, signal?: AbortSignal): Promise<ManifestObject>;
}

// ---- downloads and the queue ----------------------------------------------------------------------------------

export interface DownloadResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  /** Content-Length when the server sent a valid one. */
  contentLength?: number;
  /** Reads a little of an unwanted body so the connection can be reused, else destroys it. */
  dump?(): Promise<void>;
}

/** GETs a signed URL as a stream. */
export interface Downloader {
  /** Rejects on transport failures (connect, reset, timeout before headers) and when `signal` aborts. */
  get(
    url: string,
    options: { headers?: Record<string, string>; signal: AbortSignal },
  ): Promise<DownloadResponse>;
}

/** One message at a time onto a work queue (the verify queue: SQS SendMessage in AWS, the local queue locally). */
export interface WorkQueue<T> {
  send(message: T, signal?: AbortSignal): Promise<void>;
}

/** The queue port: SQS SendMessageBatch in AWS, the local queue on one machine, a recorder in tests. */
export interface BatchQueue {
  /**
   * Queues every message or throws (after bounded retries of partial failures). Resolving means all are queued.
   * Any number of messages per call: the SQS adapter groups them into SendMessageBatch calls (10 entries, 256 KiB).
   */
  sendBatches(messages: BatchMessage[], signal?: AbortSignal): Promise<void>;
}
