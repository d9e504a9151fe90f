import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { contentChunks } from '../../../infra/local/sandbox/content.js';
import { etagOf } from '../../../infra/local/sandbox/download-meta.js';
import type { SandboxFile } from '../../../infra/local/sandbox/types.js';
import {
  type ListingServer,
  parseListingPath,
  renderListing,
  startListingServer,
} from '../../bench/listing-server.js';

const files: SandboxFile[] = [
  { id: 'f-1', key: 'openapi-1-a.bin', fileName: 'a.bin', size: 70_000 },
  { id: 'f-2', key: 'openapi-2-b c.bin', fileName: 'bench 1GiB.bin', size: 10 },
  { id: 'f-3', key: 'openapi-3', fileName: 'x&y<"z>.pdf', size: 3 },
];

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const generated = (f: SandboxFile, start = 0, end = f.size) =>
  Buffer.concat([...contentChunks(f.seed ?? f.id, start, end)]);
/** The links of an index page, as a browser (or rclone) resolves them: hrefs, percent-decoded. */
const linksOf = (html: string) =>
  [...html.matchAll(/<a href="([^"]*)">/g)].map((m) =>
    decodeURIComponent((m[1] as string).replace(/&amp;/g, '&').replace(/&quot;/g, '"')),
  );

describe('bench listing server: the index page', () => {
  it('links every file once by its name, percent-encoded and HTML-escaped, plus the parent', () => {
    const html = renderListing('small-3', files);
    expect(linksOf(html)).toEqual(['../', 'a.bin', 'bench 1GiB.bin', 'x&y<"z>.pdf']);
    expect(html).toContain('href="bench%201GiB.bin"');
    expect(html).not.toContain('<"z>');
  });

  it('maps /<dir>/ and /<dir>/<name> back, and nothing else', () => {
    expect(parseListingPath('/small-3/')).toEqual({ dir: 'small-3', name: '' });
    expect(parseListingPath('/small-3/bench%201GiB.bin')).toEqual({ dir: 'small-3', name: 'bench 1GiB.bin' });
    expect(parseListingPath('/small-3')).toBeUndefined();
    expect(parseListingPath('/a/b/c')).toBeUndefined();
    expect(parseListingPath('/a/%E0%A4%A')).toBeUndefined();
  });
});

describe('bench listing server: over HTTP', () => {
  let server: ListingServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the index and the sandbox’s own bytes and headers for each file, and counts each kind of request', async () => {
    server = await startListingServer({ 'small-3': files });
    const index = await fetch(`${server.baseUrl}/small-3/`);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(linksOf(await index.text())).toHaveLength(4);

    const f = files[0] as SandboxFile;
    const head = await fetch(`${server.baseUrl}/small-3/a.bin`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(f.size));
    expect(head.headers.get('etag')).toBe(etagOf(f.id, f.size));
    expect(head.headers.get('last-modified')).toBe('Sun, 01 Mar 2026 00:00:00 GMT');

    const body = Buffer.from(await (await fetch(`${server.baseUrl}/small-3/a.bin`)).arrayBuffer());
    expect(sha(body)).toBe(sha(generated(f)));

    const spaced = files[1] as SandboxFile;
    const other = Buffer.from(
      await (await fetch(`${server.baseUrl}/small-3/bench%201GiB.bin`)).arrayBuffer(),
    );
    expect(other.equals(generated(spaced))).toBe(true);

    expect(server.takeCounts()).toEqual({ listing: 1, head: 1, get: 2, notFound: 0 });
    expect(server.takeCounts()).toEqual({ listing: 0, head: 0, get: 0, notFound: 0 });
  });

  it('answers a byte range with 206 and exactly those bytes', async () => {
    server = await startListingServer({ d: files });
    const f = files[0] as SandboxFile;
    const res = await fetch(`${server.baseUrl}/d/a.bin`, { headers: { range: 'bytes=65530-65545' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 65530-65545/${f.size}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(generated(f, 65_530, 65_546))).toBe(true);
  });

  it('answers 404 for unknown directories, unknown files and paths outside the layout', async () => {
    server = await startListingServer({ d: files });
    for (const path of ['/nope/', '/d/missing.bin', '/d', '/d/a.bin/x']) {
      const res = await fetch(`${server.baseUrl}${path}`);
      expect(res.status, path).toBe(404);
      await res.arrayBuffer();
    }
    expect(server.takeCounts().notFound).toBe(4);
  });

  it('refuses methods other than GET and HEAD with 405', async () => {
    server = await startListingServer({ d: files });
    const res = await fetch(`${server.baseUrl}/d/a.bin`, { method: 'PUT', body: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    await res.arrayBuffer();
    expect(server.takeCounts()).toEqual({ listing: 0, head: 0, get: 0, notFound: 0 });
  });
});
