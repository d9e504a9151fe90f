/**
 * The Downloader over undici `request()`: one Agent per process with explicit timeouts, a body stream that is never
 * buffered, and no redirects (a signed URL that redirects elsewhere is not one we signed for).
 */
import { Agent, type Dispatcher, request } from 'undici';
import type { Downloader, DownloadResponse } from '../ports.js';
import { DEFAULT_DOWNLOAD_TIMEOUTS } from '../security/guarded-agent.js';

export interface UndiciDownloaderOptions {
  /** TCP + TLS connect. */
  connectTimeoutMs?: number;
  /** Request sent → response headers. OSS answers headers fast; a long wait means a stuck connection. */
  headersTimeoutMs?: number;
  /** Longest gap between two body chunks (not the whole body: a 4 GiB file takes minutes). */
  bodyTimeoutMs?: number;
  /** Use this dispatcher instead of an own Agent (not closed by close()). */
  dispatcher?: Dispatcher;
}

export interface UndiciDownloader extends Downloader {
  close(): Promise<void>;
}

function parseContentLength(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

export function createUndiciDownloader(options: UndiciDownloaderOptions = {}): UndiciDownloader {
  const own = options.dispatcher
    ? undefined
    : new Agent({
        connect: { timeout: options.connectTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUTS.connectTimeoutMs },
        headersTimeout: options.headersTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUTS.headersTimeoutMs,
        bodyTimeout: options.bodyTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUTS.bodyTimeoutMs,
      });
  const dispatcher = options.dispatcher ?? (own as Agent);
  return {
    async get(url, { headers, signal }): Promise<DownloadResponse> {
      const res = await request(url, {
        method: 'GET',
        // Identity: Content-Length must describe the bytes we store, not a compressed transfer.
        headers: { 'accept-encoding': 'identity', ...headers },
        signal,
        dispatcher,
      });
      const contentLength = parseContentLength(res.headers['content-length']);
      return {
        status: res.statusCode,
        headers: res.headers,
        body: res.body,
        ...(contentLength === undefined ? {} : { contentLength }),
        dump: () => res.body.dump({ limit: 64 * 1024 }).catch(() => undefined),
      };
    },
    async close() {
      await own?.close();
    },
  };
}
