/**
 * The copy engine against sources that lie about their bytes: every body is checked against the checksum its
 * source sent, a mismatch is downloaded once more and then fails as integrity_mismatch, and no bad byte is ever
 * stored. Copied files come back with their proof record.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { type CopyDeps, copyBatch } from '../../../../functions/core/copy/copy-batch.js';
import { Crc64 } from '../../../../functions/core/integrity/crc64.js';
import type { CopyResult } from '../../../../functions/core/model/copy-result.js';
import type { DownloadResponse } from '../../../../functions/core/ports.js';
import { silentLogger } from '../../../../functions/core/ports.js';
import { content, type FakeFile, FakeResolver, MemorySink, ok, ScriptedDownloader } from './fakes.js';

const FILE: FakeFile = { id: 'F0', key: 'tenant/k0/发票.pdf' };
const TRUE = content('F0', 1000);
const CRC = new Crc64().update(TRUE).digestDecimal();
const MD5 = createHash('md5').update(TRUE).digest('base64');
const SHA = createHash('sha256').update(TRUE).digest('hex');

function flipped(at = 500): Buffer {
  const b = Buffer.from(TRUE);
  b[at] = (b[at] as number) ^ 0x01;
  return b;
}

function withHeaders(body: Buffer, headers: Record<string, string>): DownloadResponse {
  return { ...ok(body), headers };
}

function setup(script: (n: number) => DownloadResponse) {
  const sink = new MemorySink();
  const downloader = new ScriptedDownloader(({ n }) => script(n));
  const deps: CopyDeps = {
    resolver: new FakeResolver([FILE]),
    sink,
    downloader,
    logger: silentLogger,
    sleep: vi.fn(async () => {}),
    random: () => 0.5,
    now: () => Date.parse('2026-03-01T00:00:00Z'),
  };
  return { sink, downloader, deps };
}

async function copyOne(deps: CopyDeps): Promise<CopyResult> {
  const [r] = await copyBatch([{ id: FILE.id, key: FILE.key }], { jobId: 'job-1' }, deps);
  return r as CopyResult;
}

describe('copyBatch: the source checksums', () => {
  it('copies a body that matches its CRC-64 and MD5, with its proof record and source metadata', async () => {
    const { sink, deps } = setup(() =>
      withHeaders(TRUE, { 'x-oss-hash-crc64ecma': CRC, 'content-md5': MD5 }),
    );
    const r = await copyOne(deps);
    expect(r.status).toBe('copied');
    if (r.status !== 'copied') return;
    expect(r.record).toEqual({
      objectKey: 'attachments/F0/发票.pdf',
      size: 1000,
      sha256: SHA,
      source: { crc64: CRC, md5: MD5, verified: true },
      fileId: 'F0',
      ekbKey: FILE.key,
      at: '2026-03-01T00:00:00.000Z',
    });
    const stored = sink.objects.get('attachments/F0/发票.pdf');
    expect(stored?.body.equals(TRUE)).toBe(true);
    expect(stored?.options.metadata).toMatchObject({ 'source-crc64': CRC, 'source-md5': MD5 });
    expect(stored?.sha256).toBe(SHA);
  });

  it('archives a body from a source without checksums with its SHA-256, marked not verifiable', async () => {
    const { sink, deps } = setup(() => ok(TRUE));
    const r = await copyOne(deps);
    expect(r.status === 'copied' && r.record.source).toEqual({ verified: false });
    expect(r.status === 'copied' && r.record.sha256).toBe(SHA);
    expect(sink.objects.get('attachments/F0/发票.pdf')?.options.metadata).not.toHaveProperty('source-crc64');
  });

  it('downloads a flipped byte with the right length again, and copies the good second body', async () => {
    const { sink, downloader, deps } = setup((n) =>
      withHeaders(n === 1 ? flipped() : TRUE, { 'x-oss-hash-crc64ecma': CRC }),
    );
    const r = await copyOne(deps);
    expect(r.status === 'copied' && r.record.sha256).toBe(SHA);
    expect(downloader.calls).toHaveLength(2);
    expect(sink.objects.get('attachments/F0/发票.pdf')?.body.equals(TRUE)).toBe(true);
  });

  it('fails as integrity_mismatch (not retryable) after two bad bodies, storing nothing', async () => {
    const { sink, downloader, deps } = setup(() => withHeaders(flipped(), { 'x-oss-hash-crc64ecma': CRC }));
    const r = await copyOne(deps);
    expect(r).toMatchObject({ status: 'failed', code: 'integrity_mismatch', retryable: false });
    expect(r.status === 'failed' && r.message).toContain('downloaded 2 times');
    expect(downloader.calls).toHaveLength(2);
    expect(sink.objects.size).toBe(0);
  });

  it('fails a body whose Content-MD5 disagrees (wrong checksum header), after one more download', async () => {
    const wrong = createHash('md5').update('other bytes').digest('base64');
    const { sink, downloader, deps } = setup(() => withHeaders(TRUE, { 'content-md5': wrong }));
    const r = await copyOne(deps);
    expect(r).toMatchObject({ status: 'failed', code: 'integrity_mismatch' });
    expect(r.status === 'failed' && r.message).toContain('content-md5');
    expect(downloader.calls).toHaveLength(2);
    expect(sink.objects.size).toBe(0);
  });

  it('fails a malformed checksum header as source_checksum_invalid without reading the body', async () => {
    const { sink, downloader, deps } = setup(() =>
      withHeaders(TRUE, { 'x-oss-hash-crc64ecma': 'not-a-checksum' }),
    );
    const r = await copyOne(deps);
    expect(r).toMatchObject({ status: 'failed', code: 'source_checksum_invalid', retryable: false });
    expect(r.status === 'failed' && r.message).toContain('"not-a-checksum"');
    expect(downloader.calls).toHaveLength(2);
    expect(sink.puts).toBe(0);
  });

  it('copies after one malformed header when the next answer is whole', async () => {
    const { deps } = setup((n) => withHeaders(TRUE, { 'x-oss-hash-crc64ecma': n === 1 ? '-5' : CRC }));
    const r = await copyOne(deps);
    expect(r.status === 'copied' && r.record.source.crc64).toBe(CRC);
  });

  it('skips a file already archived and rebuilds its record from the object', async () => {
    const { deps, sink } = setup(() => withHeaders(TRUE, { 'x-oss-hash-crc64ecma': CRC }));
    await copyOne(deps);
    const again = await copyOne(deps);
    expect(again.status).toBe('skipped');
    expect(again.status === 'skipped' && again.record).toMatchObject({
      objectKey: 'attachments/F0/发票.pdf',
      size: 1000,
      sha256: SHA,
      source: { crc64: CRC, verified: true },
      fileId: 'F0',
    });
    expect(sink.puts).toBe(1);
  });

  it('skips an object written before SHA-256s were kept, without a record', async () => {
    const { deps, sink } = setup(() => ok(TRUE));
    sink.objects.set('attachments/F0/发票.pdf', {
      body: TRUE,
      options: {
        contentType: 'application/pdf',
        contentDisposition: 'attachment',
        // As an older version wrote it: fileid and the 合思 key, no ekb-source (identity, lanes issue).
        metadata: { fileid: 'F0', 'ekb-key': encodeURIComponent(FILE.key) },
      },
    });
    const r = await copyOne(deps);
    expect(r.status).toBe('skipped');
    expect(r).not.toHaveProperty('record');
  });
});
