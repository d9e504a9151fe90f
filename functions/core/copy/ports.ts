/**
 * What the copy engine needs from the outside: somewhere to put objects (S3 in AWS and locally) and a way to GET a
 * signed URL as a stream. The core never imports an adapter; tests hand it plain fakes or the real adapters.
 */
import type { Readable } from 'node:stream';

/** An object already at the target key. */
export interface ObjectHead {
  size: number;
  /** User metadata, lower-case keys (S3 answers them that way). */
  metadata: Record<string, string>;
}

export interface PutObjectOptions {
  /** Exact body length when the source announced it; lets the sink pick a part size. */
  contentLength?: number;
  contentType: string;
  contentDisposition: string;
  metadata: Record<string, string>;
  /** Aborting it must abort the upload and leave no object (and no multipart parts) behind. */
  signal: AbortSignal;
}

export interface ObjectSink {
  /** undefined when there is no object at `key`. */
  head(key: string, signal?: AbortSignal): Promise<ObjectHead | undefined>;
  /** Streams `body` to `key`. Rejects (leaving no object) when the body errors, the signal aborts or the store fails. */
  put(key: string, body: Readable, options: PutObjectOptions): Promise<{ bytes: number }>;
}

export interface DownloadResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  /** Content-Length when the server sent a valid one. */
  contentLength?: number;
  /** Reads a little of an unwanted body so the connection can be reused, else destroys it. */
  dump?(): Promise<void>;
}

export interface Downloader {
  /** Rejects on transport failures (connect, reset, timeout before headers) and when `signal` aborts. */
  get(
    url: string,
    options: { headers?: Record<string, string>; signal: AbortSignal },
  ): Promise<DownloadResponse>;
}
