/** Plain fakes of the copy engine's ports: an in-memory sink, a scripted downloader and a recording resolver. */
import { Readable } from 'node:stream';
import { AppError } from '../../../../functions/core/errors.js';
import type { AttachmentRef } from '../../../../functions/core/model/refs.js';
import type { Resolution } from '../../../../functions/core/model/resolution.js';
import type {
  Downloader,
  DownloadResponse,
  DownloadUrlResolver,
  KeyListing,
  ObjectHead,
  ObjectSink,
  PutObjectOptions,
  ResolveOptions,
  TextStore,
} from '../../../../functions/core/ports.js';

export interface StoredObject {
  body: Buffer;
  /** What the engine asked the sink to store. */
  options: Omit<PutObjectOptions, 'signal' | 'sha256'>;
  /** The SHA-256 the engine handed over once the body ended (the S3 sink's metadata `sha256` or tag). */
  sha256?: string;
  etag?: string;
}

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * An in-memory bucket with S3's conditional writes (If-None-Match: *, If-Match: etag → write_conflict when they do
 * not hold) and ListObjectsV2's order and truncation; counts every request by kind.
 */
export class MemorySink implements ObjectSink {
  readonly objects = new Map<string, StoredObject>();
  heads = 0;
  puts = 0;
  lists = 0;
  #etags = 0;
  /** Called when a put's body has been read, before its condition is checked (a race can be staged here). */
  beforeCommit: ((key: string) => void) | undefined;
  async head(key: string): Promise<ObjectHead | undefined> {
    this.heads += 1;
    const o = this.objects.get(key);
    return o
      ? {
          size: o.body.length,
          metadata: { ...o.options.metadata, ...(o.sha256 ? { sha256: o.sha256 } : {}) },
          etag: o.etag ?? '"0"',
          lastModified: '2026-01-02T03:04:05.000Z',
        }
      : undefined;
  }
  async listKeys(query: { prefix: string; startAfter?: string; maxKeys: number }): Promise<KeyListing> {
    this.lists += 1;
    const keys = [...this.objects.keys()]
      .filter(
        (k) =>
          k.startsWith(query.prefix) &&
          (query.startAfter === undefined || utf8Order(k, query.startAfter) > 0),
      )
      .sort(utf8Order);
    return { keys: keys.slice(0, query.maxKeys), truncated: keys.length > query.maxKeys };
  }
  /** Puts an object as another writer would (no condition). */
  place(key: string, body: Buffer, metadata: Record<string, string>): void {
    this.#etags += 1;
    this.objects.set(key, {
      body,
      options: { contentType: 'x', contentDisposition: 'x', metadata },
      etag: `"e${this.#etags}"`,
    });
  }
  async put(key: string, body: Readable, options: PutObjectOptions): Promise<{ bytes: number }> {
    this.puts += 1;
    const { signal, ...rest } = options;
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        body.destroy();
        reject(new Error('upload aborted'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      body.on('data', (c: Buffer) => chunks.push(c));
      body.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      });
      body.on('end', () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    const buf = Buffer.concat(chunks);
    this.beforeCommit?.(key);
    const existing = this.objects.get(key);
    const c = options.condition;
    if (c && ('ifMatch' in c ? existing?.etag !== c.ifMatch : existing !== undefined)) {
      throw new AppError('write_conflict', `precondition failed for ${key}`, { retryable: true });
    }
    this.#etags += 1;
    // As the S3 sink does: the body's SHA-256, known once it ended, is kept with the object.
    const { condition: _condition, sha256, ...stored } = rest;
    const digest = sha256?.();
    this.objects.set(key, {
      body: buf,
      options: stored,
      etag: `"e${this.#etags}"`,
      ...(digest === undefined ? {} : { sha256: digest }),
    });
    return { bytes: buf.length };
  }
}

export function content(id: string, size = 1000): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + id.charCodeAt(0)) & 0xff;
  return b;
}

export type Script = (call: { url: string; headers?: Record<string, string>; n: number }) => DownloadResponse;

/** A 200 answer in two chunks; `contentLength` null = no Content-Length (chunked). */
export function ok(body: Buffer, contentLength: number | null = body.length): DownloadResponse {
  return {
    status: 200,
    headers: {},
    body: Readable.from([
      body.subarray(0, Math.ceil(body.length / 2)),
      body.subarray(Math.ceil(body.length / 2)),
    ]),
    ...(contentLength === null ? {} : { contentLength }),
  };
}

export function status(code: number): DownloadResponse {
  return { status: code, headers: {}, body: Readable.from([Buffer.from('error body')]) };
}

/** A body that sends `first` then errors (a connection reset mid-body). */
export function broken(first: Buffer, contentLength: number): DownloadResponse {
  const body = new Readable({
    read() {
      this.push(first);
      setImmediate(() => this.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })));
    },
  });
  return { status: 200, headers: {}, body, contentLength };
}

/** A body that sends `first` then never ends until the signal aborts. */
export function stalled(first: Buffer, contentLength: number, signal: AbortSignal): DownloadResponse {
  let sent = false;
  const body = new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(first);
      }
    },
  });
  signal.addEventListener('abort', () => body.destroy(new Error('This operation was aborted')), {
    once: true,
  });
  return { status: 200, headers: {}, body, contentLength };
}

export class ScriptedDownloader implements Downloader {
  readonly calls: Array<{ url: string; headers?: Record<string, string> }> = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(
    private readonly script: (call: {
      url: string;
      headers?: Record<string, string>;
      n: number;
      signal: AbortSignal;
    }) => DownloadResponse | Promise<DownloadResponse>,
  ) {}
  async get(
    url: string,
    options: { headers?: Record<string, string>; signal: AbortSignal },
  ): Promise<DownloadResponse> {
    this.calls.push({ url, ...(options.headers ? { headers: options.headers } : {}) });
    const n = this.calls.filter((c) => c.url.split('?')[0] === url.split('?')[0]).length;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const res = await this.script({
        url,
        n,
        signal: options.signal,
        ...(options.headers ? { headers: options.headers } : {}),
      });
      let done = false;
      const finish = (): void => {
        if (!done) this.inFlight -= 1;
        done = true;
      };
      res.body.once('end', finish);
      res.body.once('close', finish);
      return res;
    } catch (err) {
      this.inFlight -= 1;
      throw err;
    }
  }
}

export interface FakeFile {
  id: string;
  key: string;
  fileName?: string;
  fileSize?: number;
  headers?: Record<string, string>;
  missing?: boolean;
}

export class FakeResolver implements DownloadUrlResolver {
  readonly calls: AttachmentRef[][] = [];
  error: Error | undefined;
  expiresAt = Date.now() + 3_600_000;
  constructor(private readonly files: FakeFile[]) {}
  async resolveDownloadUrls(refs: readonly AttachmentRef[], options?: ResolveOptions): Promise<Resolution[]> {
    this.calls.push(refs.map((r) => ({ ...r })));
    if (options?.signal?.aborted) throw new Error('aborted');
    if (this.error) throw this.error;
    const n = this.calls.length;
    return refs.map((ref) => {
      const f = this.files.find((x) => x.id === ref.id && x.key === ref.key);
      if (!f || f.missing) return { status: 'not_found', id: ref.id, key: ref.key };
      return {
        status: 'resolved',
        id: ref.id,
        key: ref.key,
        url: `https://oss.test/files/${encodeURIComponent(ref.id)}?Expires=9&Signature=SECRETSIG${n}`,
        expiresAt: this.expiresAt,
        ...(f.fileName ? { fileName: f.fileName } : {}),
        ...(f.fileSize !== undefined ? { fileSize: f.fileSize } : {}),
        ...(f.headers ? { headers: f.headers } : {}),
      };
    });
  }
}

export function idOfUrl(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
}

/** Text objects in memory (file indexes, verify findings). */
export class MemoryTexts implements TextStore {
  readonly objects = new Map<string, { text: string; contentType: string }>();
  async putText(key: string, text: string, contentType: string): Promise<void> {
    this.objects.set(key, { text, contentType });
  }
  async getText(key: string): Promise<string | undefined> {
    return this.objects.get(key)?.text;
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}
