import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { type CopyDeps, copyBatch, newCopyStats } from '../../../../functions/core/copy/copy-batch.js';
import { transferSlots } from '../../../../functions/core/copy/transfer-slots.js';
import { AppError, CancelledError } from '../../../../functions/core/errors.js';
import type { CopyResult } from '../../../../functions/core/model/copy-result.js';
import type { CopyRef } from '../../../../functions/core/model/refs.js';
import { silentLogger } from '../../../../functions/core/ports.js';
import {
  broken,
  content,
  type FakeFile,
  FakeResolver,
  idOfUrl,
  MemorySink,
  ok,
  ScriptedDownloader,
  stalled,
  status,
} from './fakes.js';

const DP_KEY =
  'DP:{"fileId":"136634437985","fileName":"钉钉.jpg","fileSize":1000,"fileType":"jpg","spaceId":"7"}';

function files(n: number): FakeFile[] {
  return Array.from({ length: n }, (_, i) => ({ id: `F${i}`, key: `tenant/k${i}/file${i}.pdf` }));
}

function refsOf(fs: FakeFile[]): CopyRef[] {
  return fs.map((f) => ({ id: f.id, key: f.key }));
}

function setup(fs: FakeFile[], script?: ConstructorParameters<typeof ScriptedDownloader>[0]) {
  const resolver = new FakeResolver(fs);
  const sink = new MemorySink();
  const downloader = new ScriptedDownloader(script ?? (({ url }) => ok(content(idOfUrl(url)))));
  const sleep = vi.fn(async () => {});
  const deps: CopyDeps = { resolver, sink, downloader, logger: silentLogger, sleep, random: () => 0.5 };
  return { resolver, sink, downloader, sleep, deps };
}

const ctx = { jobId: 'job-1' };

function only<T extends CopyResult['status']>(
  r: CopyResult | undefined,
  s: T,
): Extract<CopyResult, { status: T }> {
  expect(r?.status).toBe(s);
  return r as Extract<CopyResult, { status: T }>;
}

describe('copyBatch', () => {
  it('copies every ref with one resolver call, results in input order', async () => {
    const fs = files(5);
    const { resolver, sink, deps } = setup(fs);
    const results = await copyBatch(refsOf(fs), ctx, deps);
    expect(resolver.calls).toHaveLength(1);
    expect(resolver.calls[0]).toHaveLength(5);
    expect(results.map((r) => r.id)).toEqual(['F0', 'F1', 'F2', 'F3', 'F4']);
    for (const r of results) {
      const c = only(r, 'copied');
      expect(c.bytes).toBe(1000);
      expect(c.objectKey).toBe(`attachments/${c.id}/${c.key.split('/').pop()}`);
      expect(sink.objects.get(c.objectKey)?.body.equals(content(c.id))).toBe(true);
    }
  });

  it('stores content type, disposition and metadata with the file id and encoded vendor key', async () => {
    const fs = [{ id: 'A1', key: 'openapi-x-发票.pdf', fileName: '发票.pdf' }];
    const { sink, deps } = setup(fs);
    const [r] = await copyBatch([{ id: 'A1', key: 'openapi-x-发票.pdf', fileName: '发票.pdf' }], ctx, deps);
    const stored = sink.objects.get(only(r, 'copied').objectKey);
    expect(stored?.options.contentType).toBe('application/pdf');
    expect(stored?.options.contentDisposition).toContain("filename*=UTF-8''%E5%8F%91%E7%A5%A8.pdf");
    expect(stored?.options.metadata).toEqual({
      fileid: 'A1',
      'ekb-key': encodeURIComponent('openapi-x-发票.pdf'),
      'ekb-source': 'file:A1',
      'ekb-key-sha256': createHash('sha256').update('openapi-x-发票.pdf', 'utf8').digest('hex'),
    });
    expect(stored?.options.contentLength).toBe(1000);
  });

  it('names a DP: file from its JSON and sends the DP: headers on the GET', async () => {
    const fs = [
      {
        id: 'D1',
        key: DP_KEY,
        fileName: '钉钉.jpg',
        headers: { 'x-oss-date': 'd', authorization: 'OSS a:b' },
      },
    ];
    const { sink, downloader, deps } = setup(fs);
    const [r] = await copyBatch([{ id: 'D1', key: DP_KEY }], ctx, deps);
    expect(only(r, 'copied').objectKey).toBe('attachments/D1/钉钉.jpg');
    expect(downloader.calls[0]?.headers).toEqual({ 'x-oss-date': 'd', authorization: 'OSS a:b' });
    expect(sink.objects.get('attachments/D1/钉钉.jpg')?.options.contentType).toBe('image/jpeg');
  });

  it('fails a ref 合思 does not know as not_found, permanently, and copies the rest', async () => {
    const fs = files(3);
    (fs[1] as FakeFile).missing = true;
    const { deps } = setup(fs);
    const results = await copyBatch(refsOf(fs), ctx, deps);
    expect(results.map((r) => r.status)).toEqual(['copied', 'failed', 'copied']);
    expect(results[1]).toMatchObject({ code: 'not_found', retryable: false, id: 'F1' });
  });

  it('fails every ref with the resolver error code when the resolve call fails', async () => {
    const fs = files(3);
    const { resolver, downloader, deps } = setup(fs);
    resolver.error = new AppError('ekuaibao_http_429', 'throttled by 合思', { retryable: true });
    const results = await copyBatch(refsOf(fs), ctx, deps);
    for (const r of results)
      expect(r).toMatchObject({ status: 'failed', code: 'ekuaibao_http_429', retryable: true });
    expect(downloader.calls).toHaveLength(0);
  });

  it('fails only a ref with a broken DP: key, without sending it to the resolver', async () => {
    const fs = files(2);
    const { resolver, deps } = setup(fs);
    const refs = [refsOf(fs)[0], { id: 'BAD', key: 'DP:{not json' }, refsOf(fs)[1]] as CopyRef[];
    const results = await copyBatch(refs, ctx, deps);
    expect(results.map((r) => r.status)).toEqual(['copied', 'failed', 'copied']);
    expect(results[1]).toMatchObject({ id: 'BAD', code: 'invalid_ref', retryable: false });
    expect(resolver.calls[0]?.map((r) => r.id)).toEqual(['F0', 'F1']);
  });

  it('fails a ref whose targetKey is not a string as invalid_ref, permanently', async () => {
    const { deps } = setup(files(1));
    const results = await copyBatch([{ id: 'F0', key: 'k', targetKey: 42 } as unknown as CopyRef], ctx, deps);
    expect(results[0]).toMatchObject({ status: 'failed', code: 'invalid_ref', retryable: false });
  });

  it('fails a malformed ref (missing id) as invalid_ref', async () => {
    const { deps } = setup([]);
    const results = await copyBatch([{ key: 'k' } as unknown as CopyRef], ctx, deps);
    expect(results[0]).toMatchObject({ status: 'failed', code: 'invalid_ref', key: 'k', id: '' });
  });

  it('fails an invalid targetKey with invalid_target_key and copies the rest', async () => {
    const fs = files(2);
    const { deps } = setup(fs);
    const refs = refsOf(fs);
    (refs[0] as CopyRef).targetKey = '../escape.pdf';
    const results = await copyBatch(refs, ctx, deps);
    expect(results[0]).toMatchObject({ status: 'failed', code: 'invalid_target_key', retryable: false });
    expect(results[1]?.status).toBe('copied');
  });

  it('skips a file already archived before any 合思 call: no resolve, no GET, no upload', async () => {
    const fs = [{ id: 'D1', key: DP_KEY, fileName: '钉钉.jpg', fileSize: 1000 }, ...files(2)];
    const { resolver, downloader, sink, deps } = setup(fs);
    await copyBatch(refsOf(fs), ctx, deps);
    const before = { resolves: resolver.calls.length, gets: downloader.calls.length, puts: sink.puts };
    const again = await copyBatch(refsOf(fs), ctx, deps);
    expect(again.map((r) => r.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(only(again[0], 'skipped').reason).toBe('exists');
    expect(resolver.calls.length).toBe(before.resolves);
    expect(downloader.calls.length).toBe(before.gets);
    expect(sink.puts).toBe(before.puts);
  });

  it('finds which keys exist with one listing per batch: a first copy HEADs nothing, a re-run HEADs each file', async () => {
    const fs = files(5);
    const { sink, deps } = setup(fs);
    await copyBatch(refsOf(fs), ctx, deps);
    expect({ lists: sink.lists, heads: sink.heads }).toEqual({ lists: 1, heads: 0 });
    await copyBatch(refsOf(fs), ctx, deps);
    expect({ lists: sink.lists, heads: sink.heads }).toEqual({ lists: 2, heads: 5 });
  });

  it('HEADs each key the listing did not reach when the listing is truncated', async () => {
    const fs = files(3);
    const { sink, deps } = setup(fs);
    for (let i = 0; i < 1_200; i++) sink.place(`attachments/F1/filler-${i}`, Buffer.from('x'), {});
    const results = await copyBatch(refsOf(fs), ctx, deps);
    expect(results.map((r) => r.status)).toEqual(['copied', 'copied', 'copied']);
    expect(sink.lists).toBe(1);
    expect(sink.heads).toBe(3);
  });

  it('refuses to overwrite another file of the same size, and says what occupies the key', async () => {
    const fs = files(2);
    const { sink, downloader, deps } = setup(fs);
    sink.place('attachments/F0/file0.pdf', content('F0'), {
      fileid: 'SOMEONE-ELSE',
      'ekb-source': 'file:SOMEONE-ELSE',
      'ekb-key-sha256': 'ab'.repeat(32),
    });
    const results = await copyBatch(refsOf(fs), ctx, deps);
    expect(results[0]).toMatchObject({
      status: 'failed',
      code: 'target_occupied',
      retryable: false,
      objectKey: 'attachments/F0/file0.pdf',
      occupant: { source: 'file:SOMEONE-ELSE', fileId: 'SOMEONE-ELSE', size: 1000 },
    });
    expect(results[0]?.status === 'failed' && results[0].message).toContain('ekb-source "file:SOMEONE-ELSE"');
    expect(results[1]?.status).toBe('copied');
    expect(sink.objects.get('attachments/F0/file0.pdf')?.options.metadata.fileid).toBe('SOMEONE-ELSE');
    expect(downloader.calls.map((c) => idOfUrl(c.url))).toEqual(['F1']);
  });

  it('refuses an object without identity metadata, whatever its size (never skipped by size)', async () => {
    const fs = files(1);
    const { sink, deps } = setup(fs);
    sink.place('attachments/F0/file0.pdf', Buffer.alloc(1000), {});
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({ status: 'failed', code: 'target_occupied', occupant: { size: 1000 } });
    expect(r?.status === 'failed' && r.message).toContain('an object without archive identity');
  });

  it("refuses an older object of this file id whose stored key is another file's", async () => {
    const fs = files(1);
    const { sink, deps } = setup(fs);
    sink.place('attachments/F0/file0.pdf', Buffer.from('old'), {
      fileid: 'F0',
      'ekb-key': 'tenant%2Fother.pdf',
    });
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({
      status: 'failed',
      code: 'target_occupied',
      occupant: { fileId: 'F0', size: 3 },
    });
  });

  it('recognises an object archived by an older version (fileid and the stored key match) and skips it', async () => {
    const fs = files(1);
    const { sink, resolver, deps } = setup(fs);
    sink.place('attachments/F0/file0.pdf', content('F0'), {
      fileid: 'F0',
      'ekb-key': encodeURIComponent('tenant/k0/file0.pdf'),
    });
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(only(r, 'skipped').objectKey).toBe('attachments/F0/file0.pdf');
    expect(resolver.calls).toHaveLength(0);
  });

  it('with onConflict "overwrite" replaces exactly the object it looked at (If-Match its etag)', async () => {
    const fs = files(1);
    const { sink, deps } = setup(fs);
    sink.place('attachments/F0/file0.pdf', Buffer.from('old'), { fileid: 'F0' });
    const puts: unknown[] = [];
    const put = sink.put.bind(sink);
    sink.put = async (key, body, options) => {
      puts.push(options.condition);
      return put(key, body, options);
    };
    const [r] = await copyBatch(refsOf(fs), { ...ctx, onConflict: 'overwrite' }, deps);
    expect(only(r, 'copied').bytes).toBe(1000);
    expect(puts).toEqual([{ ifMatch: '"e1"' }]);
    expect(sink.objects.get('attachments/F0/file0.pdf')?.options.metadata['ekb-source']).toBe('file:F0');
  });

  it('writes a free key only if it is still free (If-None-Match)', async () => {
    const fs = files(1);
    const { sink, deps } = setup(fs);
    const conditions: unknown[] = [];
    const put = sink.put.bind(sink);
    sink.put = async (key, body, options) => {
      conditions.push(options.condition);
      return put(key, body, options);
    };
    await copyBatch(refsOf(fs), ctx, deps);
    expect(conditions).toEqual([{ ifNoneMatch: true }]);
  });

  it('loses a race to the same file gracefully: the conditional write fails, the key is read, the ref is skipped', async () => {
    const fs = files(1);
    const { sink, deps } = setup(fs);
    const rival = setup(fs);
    sink.beforeCommit = (key) => {
      sink.beforeCommit = undefined;
      // Another job copies the same file to the same key while this upload is in flight.
      const other = rival.sink.objects.get(key);
      if (other) sink.objects.set(key, other);
    };
    await copyBatch(refsOf(fs), ctx, rival.deps);
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(only(r, 'skipped').objectKey).toBe('attachments/F0/file0.pdf');
  });

  it('loses a race to another file: target_occupied, and the winner stays', async () => {
    const fs = files(1);
    const { sink, deps } = setup(fs);
    sink.beforeCommit = (key) => {
      sink.beforeCommit = undefined;
      sink.place(key, Buffer.from('winner'), { 'ekb-source': 'file:OTHER', 'ekb-key-sha256': '00' });
    };
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({
      status: 'failed',
      code: 'target_occupied',
      occupant: { source: 'file:OTHER' },
    });
    expect(sink.objects.get('attachments/F0/file0.pdf')?.body.toString()).toBe('winner');
  });

  it('an overwrite that finds the object changed again does not replace the newer one', async () => {
    const fs = files(1);
    const { sink, deps } = setup(fs);
    sink.place('attachments/F0/file0.pdf', Buffer.from('old'), {});
    sink.beforeCommit = (key) => {
      sink.beforeCommit = undefined;
      sink.place(key, Buffer.from('newer'), { 'ekb-source': 'file:NEWER', 'ekb-key-sha256': '00' });
    };
    const [r] = await copyBatch(refsOf(fs), { ...ctx, onConflict: 'overwrite' }, deps);
    expect(r).toMatchObject({
      status: 'failed',
      code: 'target_occupied',
      occupant: { source: 'file:NEWER' },
    });
    expect(sink.objects.get('attachments/F0/file0.pdf')?.body.toString()).toBe('newer');
  });

  it('refuses a second file on a key another ref of the batch holds, naming it, and copies the first', async () => {
    const fs = files(2);
    const { sink, deps } = setup(fs);
    const refs = refsOf(fs).map((r) => ({ ...r, targetKey: 'attachments/shared.pdf' }));
    const results = await copyBatch(refs, ctx, deps);
    expect(results[0]?.status).toBe('copied');
    expect(results[1]).toMatchObject({ status: 'failed', code: 'target_key_conflict', retryable: false });
    expect(results[1]?.status === 'failed' && results[1].message).toContain('ref id "F0"');
    expect(sink.objects.get('attachments/shared.pdf')?.body.equals(content('F0'))).toBe(true);
  });

  it.each([
    ['jobs/other-job/job.json', 'target_in_system_lane'],
    ['jobs/other-job/batches/b00003.json', 'target_in_system_lane'],
    ['sync/state.json', 'target_in_system_lane'],
    ['manifests/x.jsonl', 'target_in_system_lane'],
    ['elsewhere/x.pdf', 'target_outside_archive_lanes'],
  ])('refuses targetKey %s with %s, writes nothing there, and copies the rest', async (targetKey, code) => {
    const fs = files(2);
    const { sink, resolver, deps } = setup(fs);
    const refs = refsOf(fs);
    (refs[0] as CopyRef).targetKey = targetKey;
    const results = await copyBatch(refs, ctx, deps);
    expect(results[0]).toMatchObject({ status: 'failed', code, retryable: false });
    expect(results[1]?.status).toBe('copied');
    expect(sink.objects.has(targetKey)).toBe(false);
    expect(resolver.calls[0]?.map((r) => r.id)).toEqual(['F1']);
  });

  it('refuses every ref of a message whose template lands in a system lane', async () => {
    const fs = files(2);
    const { sink, resolver, deps } = setup(fs);
    const results = await copyBatch(refsOf(fs), { ...ctx, keyTemplate: 'jobs/{jobId}/job.json' }, deps);
    for (const r of results) expect(r).toMatchObject({ status: 'failed', code: 'target_in_system_lane' });
    expect(sink.objects.size).toBe(0);
    expect(resolver.calls).toHaveLength(0);
  });

  it('resolves a ref again when its GET answers 403, then copies it', async () => {
    const fs = files(2);
    const stats = newCopyStats();
    const { resolver, downloader, deps } = setup(fs, ({ url, n }) =>
      idOfUrl(url) === 'F1' && n === 1 ? status(403) : ok(content(idOfUrl(url))),
    );
    const results = await copyBatch(refsOf(fs), { ...ctx, stats }, deps);
    expect(results.map((r) => r.status)).toEqual(['copied', 'copied']);
    expect(resolver.calls).toHaveLength(2);
    expect(resolver.calls[1]).toEqual([{ id: 'F1', key: fs[1]?.key }]);
    expect(stats.reResolves).toBe(1);
    const f1Urls = downloader.calls.filter((c) => idOfUrl(c.url) === 'F1').map((c) => c.url);
    expect(f1Urls[1]).toContain('SECRETSIG2');
  });

  it('fails permanently with download_http_403 when the fresh URL is refused too', async () => {
    const fs = files(1);
    const { resolver, deps } = setup(fs, () => status(403));
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({ status: 'failed', code: 'download_http_403', retryable: false });
    expect(resolver.calls).toHaveLength(2);
  });

  it('fails not_found when the re-resolve no longer knows the ref', async () => {
    const fs = files(1);
    const { deps } = setup(fs, () => {
      (fs[0] as FakeFile).missing = true;
      return status(403);
    });
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({ status: 'failed', code: 'not_found', retryable: false });
  });

  it('resolves again before the GET when the URL is about to expire', async () => {
    const fs = files(1);
    const { resolver, deps } = setup(fs);
    resolver.expiresAt = Date.now() + 1_000;
    const stats = newCopyStats();
    const [r] = await copyBatch(refsOf(fs), { ...ctx, stats }, deps);
    expect(r?.status).toBe('copied');
    expect(resolver.calls).toHaveLength(2);
    expect(stats.reResolves).toBe(1);
  });

  it('retries 5xx with backoff and copies on the third try', async () => {
    const fs = files(1);
    const { downloader, sleep, deps } = setup(fs, ({ url, n }) =>
      n < 3 ? status(503) : ok(content(idOfUrl(url))),
    );
    const stats = newCopyStats();
    const [r] = await copyBatch(refsOf(fs), { ...ctx, stats }, deps);
    expect(r?.status).toBe('copied');
    expect(downloader.calls).toHaveLength(3);
    expect(sleep).toHaveBeenCalledTimes(2);
    expect(stats.downloadRetries).toBe(2);
    // Full jitter with random 0.5: 500 ms → 250, then 1000 ms → 500.
    expect(sleep.mock.calls.map((c) => (c as unknown[])[0])).toEqual([250, 500]);
  });

  it('gives up after three tries with a retryable download_http_5xx', async () => {
    const fs = files(1);
    const { downloader, sink, deps } = setup(fs, () => status(500));
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({ status: 'failed', code: 'download_http_500', retryable: true });
    expect(downloader.calls).toHaveLength(3);
    expect(sink.objects.size).toBe(0);
  });

  it('fails other 4xx permanently after one GET', async () => {
    const fs = files(1);
    const { downloader, deps } = setup(fs, () => status(404));
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({ status: 'failed', code: 'download_http_404', retryable: false });
    expect(downloader.calls).toHaveLength(1);
  });

  it('retries transport errors before the headers', async () => {
    const fs = files(1);
    const { deps } = setup(fs, ({ url, n }) => {
      if (n === 1) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return ok(content(idOfUrl(url)));
    });
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r?.status).toBe('copied');
  });

  it('fails a body shorter than Content-Length as integrity and stores nothing', async () => {
    const fs = files(1);
    const { downloader, sink, deps } = setup(fs, () => ok(content('F0', 600), 1000));
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({ status: 'failed', code: 'integrity', retryable: true });
    expect(r?.status === 'failed' && r.message).toContain('600 of 1000');
    expect(downloader.calls).toHaveLength(3);
    expect(sink.objects.size).toBe(0);
  });

  it('fails a body longer than Content-Length as integrity', async () => {
    const fs = files(1);
    const { sink, deps } = setup(fs, () => ok(content('F0', 1200), 1000));
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({ status: 'failed', code: 'integrity' });
    expect(sink.objects.size).toBe(0);
  });

  it('retries a body that breaks off mid-stream and copies it whole', async () => {
    const fs = files(1);
    const full = content('F0', 1000);
    const { sink, deps } = setup(fs, ({ n }) => (n === 1 ? broken(full.subarray(0, 300), 1000) : ok(full)));
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(only(r, 'copied').bytes).toBe(1000);
    expect(sink.objects.get('attachments/F0/file0.pdf')?.body.equals(full)).toBe(true);
  });

  it('copies a body without Content-Length (chunked) and counts its bytes', async () => {
    const fs = files(1);
    const { sink, deps } = setup(fs, () => ok(content('F0', 777), null));
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(only(r, 'copied').bytes).toBe(777);
    expect(sink.objects.get('attachments/F0/file0.pdf')?.options.contentLength).toBeUndefined();
  });

  it('fails with the checkUrl error code and never sends the GET', async () => {
    const fs = files(1);
    const { downloader, deps } = setup(fs);
    deps.checkUrl = () => {
      throw new AppError('download_host_not_allowed', 'download host oss.test is not allowed');
    };
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({ status: 'failed', code: 'download_host_not_allowed', retryable: false });
    expect(downloader.calls).toHaveLength(0);
  });

  it('keeps no more downloads in flight than the concurrency', async () => {
    const fs = files(12);
    const { downloader, deps } = setup(fs, async ({ url }) => {
      await new Promise((r) => setTimeout(r, 2));
      return ok(content(idOfUrl(url)));
    });
    const results = await copyBatch(refsOf(fs), { ...ctx, concurrency: 3 }, deps);
    expect(results.every((r) => r.status === 'copied')).toBe(true);
    expect(downloader.maxInFlight).toBeLessThanOrEqual(3);
    expect(downloader.maxInFlight).toBeGreaterThan(1);
  });

  it('shares its slots across batches: no more downloads in flight in all, and a slow file lets the next batch run', async () => {
    const fs = files(10);
    let releaseSlow: () => void = () => {};
    const slowGate = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    const { downloader, deps } = setup(fs, async ({ url }) => {
      const id = idOfUrl(url);
      if (id === 'F0') await slowGate;
      else await new Promise((r) => setTimeout(r, 1));
      return ok(content(id));
    });
    const slots = transferSlots(3);
    const first = copyBatch(refsOf(fs.slice(0, 5)), { ...ctx, slots }, deps);
    const second = await copyBatch(refsOf(fs.slice(5)), { ...ctx, slots }, deps);
    // The second batch finished while the first one's slow file still held its slot.
    expect(second.every((r) => r.status === 'copied')).toBe(true);
    releaseSlow();
    const firstResults = await first;
    expect(firstResults.every((r) => r.status === 'copied')).toBe(true);
    expect(downloader.maxInFlight).toBeLessThanOrEqual(3);
    expect(downloader.maxInFlight).toBeGreaterThan(1);
  });

  it('returns every ref as deadline without resolving when the signal has already fired', async () => {
    const fs = files(3);
    const { resolver, deps } = setup(fs);
    const ac = new AbortController();
    ac.abort();
    const results = await copyBatch(refsOf(fs), { ...ctx, signal: ac.signal }, deps);
    for (const r of results) expect(r).toMatchObject({ status: 'failed', code: 'deadline', retryable: true });
    expect(resolver.calls).toHaveLength(0);
  });

  it('at the deadline aborts the in-flight file, starts no more, and returns them retryable with no object', async () => {
    const fs = files(4);
    const ac = new AbortController();
    const { sink, downloader, deps } = setup(fs, ({ url, signal }) => {
      const id = idOfUrl(url);
      if (id === 'F1') {
        setTimeout(() => ac.abort(), 5);
        return stalled(content(id, 100), 1000, signal);
      }
      return ok(content(id));
    });
    const results = await copyBatch(refsOf(fs), { ...ctx, signal: ac.signal, concurrency: 1 }, deps);
    expect(results.map((r) => r.status)).toEqual(['copied', 'failed', 'failed', 'failed']);
    for (const r of results.slice(1)) expect(r).toMatchObject({ code: 'deadline', retryable: true });
    expect(results[2]?.status === 'failed' && results[2].objectKey).toBe('attachments/F2/file2.pdf');
    expect([...sink.objects.keys()]).toEqual(['attachments/F0/file0.pdf']);
    expect(downloader.calls.map((c) => idOfUrl(c.url))).toEqual(['F0', 'F1']);
  });

  it('says cancelled, not deadline, when the signal was aborted with a CancelledError (Ctrl-C)', async () => {
    const fs = files(3);
    const ac = new AbortController();
    const { sink, deps } = setup(fs, ({ url, signal }) => {
      const id = idOfUrl(url);
      if (id === 'F1') {
        setTimeout(() => ac.abort(new CancelledError('cancelled by the user')), 5);
        return stalled(content(id, 100), 1000, signal);
      }
      return ok(content(id));
    });
    const results = await copyBatch(refsOf(fs), { ...ctx, signal: ac.signal, concurrency: 1 }, deps);
    expect(results.map((r) => r.status)).toEqual(['copied', 'failed', 'failed']);
    for (const r of results.slice(1)) {
      expect(r).toMatchObject({ code: 'cancelled', retryable: true, message: 'cancelled by the user' });
    }
    expect([...sink.objects.keys()]).toEqual(['attachments/F0/file0.pdf']);
  });

  it('fails every ref as deadline when the resolve call is cut off by the signal', async () => {
    const fs = files(2);
    const ac = new AbortController();
    const { resolver, deps } = setup(fs);
    resolver.resolveDownloadUrls = async () => {
      ac.abort();
      throw new Error('This operation was aborted');
    };
    const results = await copyBatch(refsOf(fs), { ...ctx, signal: ac.signal }, deps);
    for (const r of results) expect(r).toMatchObject({ code: 'deadline', retryable: true });
  });

  it('fails with upload_failed (retryable) when the sink refuses, and says so safely', async () => {
    const fs = files(1);
    const { sink, deps } = setup(fs);
    sink.put = async () => {
      throw new Error('SlowDown at https://bucket.s3.test/k?X-Amz-Signature=SECRETSIG');
    };
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({ status: 'failed', code: 'upload_failed', retryable: true });
    expect(JSON.stringify(r)).not.toContain('SECRETSIG');
  });

  it('never puts a signed URL query or header value in a result', async () => {
    const fs = files(3);
    const { deps } = setup(fs, ({ url }) => {
      if (idOfUrl(url) === 'F0') throw new Error(`connect failed for ${url}`);
      if (idOfUrl(url) === 'F1') return status(500);
      return status(403);
    });
    const results = await copyBatch(refsOf(fs), ctx, deps);
    const text = JSON.stringify(results);
    expect(results.every((r) => r.status === 'failed')).toBe(true);
    expect(text).not.toContain('SECRETSIG');
    expect(text).not.toContain('Signature=');
  });

  it('reports a failing HEAD as retryable head_failed', async () => {
    const fs = files(1);
    const { sink, deps } = setup(fs);
    sink.head = async () => {
      throw new Error('503 Service Unavailable');
    };
    const [r] = await copyBatch(refsOf(fs), ctx, deps);
    expect(r).toMatchObject({ status: 'failed', code: 'head_failed', retryable: true });
  });
});
