/**
 * The bench's origin for rclone: the same generated files the 合思 sandbox serves, as plain HTTP directory
 * listings that rclone's http backend reads (`--http-url`). rclone cannot call the vendor API or follow the
 * sandbox's per-file signed URLs, so this is the faithful way to give it the same bytes from the same origin
 * process: bodies come from the sandbox's own generator and body writer (contentChunks, writeBody), with the
 * sandbox's download headers (Content-Type, ETag, Last-Modified, Accept-Ranges, Content-Length, ranges).
 *
 * Layout: GET /<dir>/ is an HTML index of <a href> links (what Apache/nginx autoindex serve); GET or HEAD
 * /<dir>/<file name> is one file. A first-byte delay, when set, holds every answer (listing, HEAD and GET) before
 * its status line, exactly as the sandbox's `slowHeaders` fault does, so both tools see the same origin latency.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { contentChunks } from '../../infra/local/sandbox/content.js';
import { contentTypeOf, etagOf, parseRange } from '../../infra/local/sandbox/download-meta.js';
import { sleepUnlessClosed, writeBody } from '../../infra/local/sandbox/faults.js';
import type { SandboxFile } from '../../infra/local/sandbox/types.js';

/** What each kind of request the origin answered, counted (a run's request pattern at the origin). */
export interface ListingCounts {
  listing: number;
  head: number;
  get: number;
  notFound: number;
}

export interface ListingServer {
  /** http://127.0.0.1:<port>: rclone's --http-url. */
  readonly baseUrl: string;
  /** Counts since the last take; taking resets them. */
  takeCounts(): ListingCounts;
  /** Holds every answer this long before its status line (0 = none). */
  setFirstByteDelay(ms: number): void;
  close(): Promise<void>;
}

/** Same instant as the sandbox's downloads, so rclone stores the same modification time every run. */
const LAST_MODIFIED = new Date(Date.UTC(2026, 2, 1)).toUTCString();

const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The index page of one directory: one relative, percent-encoded link per file, as autoindex pages have. */
export function renderListing(dir: string, files: readonly SandboxFile[]): string {
  const links = files.map(
    (f) => `<a href="${escapeHtml(encodeURIComponent(f.fileName))}">${escapeHtml(f.fileName)}</a>`,
  );
  return [
    '<!DOCTYPE html>',
    `<html><head><title>Index of /${escapeHtml(dir)}/</title></head><body>`,
    `<h1>Index of /${escapeHtml(dir)}/</h1>`,
    '<pre><a href="../">../</a>',
    ...links,
    '</pre></body></html>',
    '',
  ].join('\n');
}

/** Splits a request path into its directory and file name; undefined when it is neither /<dir>/ nor /<dir>/<name>. */
export function parseListingPath(pathname: string): { dir: string; name: string } | undefined {
  const m = /^\/([^/]+)\/([^/]*)$/.exec(pathname);
  if (!m) return undefined;
  try {
    return { dir: decodeURIComponent(m[1] as string), name: decodeURIComponent(m[2] as string) };
  } catch {
    return undefined;
  }
}

export async function startListingServer(
  dirs: Readonly<Record<string, readonly SandboxFile[]>>,
): Promise<ListingServer> {
  const index = new Map<string, { html: Buffer; files: Map<string, SandboxFile> }>();
  for (const [dir, files] of Object.entries(dirs)) {
    index.set(dir, {
      html: Buffer.from(renderListing(dir, files), 'utf8'),
      files: new Map(files.map((f) => [f.fileName, f])),
    });
  }
  let counts: ListingCounts = { listing: 0, head: 0, get: 0, notFound: 0 };
  let delayMs = 0;

  const notFound = (res: ServerResponse): void => {
    counts.notFound += 1;
    res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 9 });
    res.end('not found');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (delayMs > 0 && !(await sleepUnlessClosed(res, delayMs))) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
      res.end();
      return;
    }
    const parsed = parseListingPath(new URL(req.url ?? '/', 'http://origin.invalid').pathname);
    const entry = parsed && index.get(parsed.dir);
    if (!parsed || !entry) {
      notFound(res);
      return;
    }
    if (parsed.name === '') {
      counts.listing += 1;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': entry.html.length });
      res.end(req.method === 'HEAD' ? undefined : entry.html);
      return;
    }
    const file = entry.files.get(parsed.name);
    if (!file) {
      notFound(res);
      return;
    }
    const seed = file.seed ?? file.id;
    const range = parseRange(req.headers.range, file.size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${file.size}`, 'content-length': 0 });
      res.end();
      return;
    }
    const [start, end] = range ?? [0, file.size];
    const headers: Record<string, string | number> = {
      'content-type': contentTypeOf(file),
      etag: etagOf(seed, file.size),
      'accept-ranges': 'bytes',
      'last-modified': LAST_MODIFIED,
      'content-length': end - start,
    };
    if (range) headers['content-range'] = `bytes ${start}-${end - 1}/${file.size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      counts.head += 1;
      res.end();
      return;
    }
    counts.get += 1;
    await writeBody(res, contentChunks(seed, start, end));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    takeCounts() {
      const taken = counts;
      counts = { listing: 0, head: 0, get: 0, notFound: 0 };
      return taken;
    },
    setFirstByteDelay(ms: number) {
      delayMs = ms;
    },
    close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}
