/**
 * The copy engine over real sockets: 合思 sandbox → the real client → copyBatch → undici downloads → the S3 sink
 * (single PUT or multipart upload) → s3rver. Every stored object is checked by SHA-256 against the sandbox's generated content.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Sink } from '../../../functions/aws/s3-sink.js';
import { type CopyDeps, copyBatch, newCopyStats } from '../../../functions/core/copy/copy-batch.js';
import {
  createUndiciDownloader,
  type UndiciDownloader,
} from '../../../functions/core/copy/undici-downloader.js';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../../functions/core/ekuaibao/client.js';
import type { CopyResult } from '../../../functions/core/model/copy-result.js';
import type { CopyRef } from '../../../functions/core/model/refs.js';
import { silentLogger } from '../../../functions/core/ports.js';
import { demoFiles } from '../../../infra/local/sandbox/demo-data.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxFile } from '../../../infra/local/sandbox/types.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

let sandbox: EkuaibaoSandbox;
let s3: TestS3;
let client: EkuaibaoClient;
let downloader: UndiciDownloader;
let run = 0;

const demo = demoFiles();
const byName = (name: string): SandboxFile => {
  const f = demo.find((d) => d.fileName === name);
  if (!f) throw new Error(`no demo file ${name}`);
  return f;
};
const refOf = (f: SandboxFile): CopyRef => ({ id: f.id, key: f.key });

beforeAll(async () => {
  [sandbox, s3] = await Promise.all([startEkuaibaoSandbox({ forms: [] }), startS3rver()]);
  client = createEkuaibaoClient({
    baseUrl: sandbox.baseUrl,
    credentials: () => ({ appKey: sandbox.appKey, appSecurity: sandbox.appSecurity }),
    backoff: { baseMs: 1, maxMs: 5 },
    requestTimeoutMs: 5_000,
  });
  downloader = createUndiciDownloader({ headersTimeoutMs: 5_000, bodyTimeoutMs: 10_000 });
});

afterAll(async () => {
  await Promise.all([client?.close(), downloader?.close()]);
  await Promise.all([sandbox?.close(), s3?.close()]);
});

beforeEach(() => {
  sandbox.clearFaults();
  sandbox.resetStats();
  run += 1;
});

function deps(partSizeBytes = 8 * MIB): CopyDeps {
  return {
    resolver: client,
    sink: createS3Sink({ client: s3.client, bucket: s3.bucket, partSizeBytes }),
    downloader,
    logger: silentLogger,
    sleep: async () => {},
  };
}

/** Each test writes under its own prefix, so tests never skip each other's objects. */
function ctx(extra: Partial<Parameters<typeof copyBatch>[1]> = {}) {
  return { jobId: `job-${run}`, keyTemplate: `run${run}/{fileId}/{fileName}`, ...extra };
}

async function sha256OfStream(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk);
  return h.digest('hex');
}

async function storedSha256(key: string): Promise<string> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return sha256OfStream(out.Body as Readable);
}

async function exists(key: string): Promise<boolean> {
  try {
    await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

function copied(r: CopyResult | undefined): Extract<CopyResult, { status: 'copied' }> {
  expect(r, JSON.stringify(r)).toMatchObject({ status: 'copied' });
  return r as Extract<CopyResult, { status: 'copied' }>;
}

async function expectIntact(r: CopyResult | undefined, id: string): Promise<void> {
  const c = copied(r);
  expect(await storedSha256(c.objectKey)).toBe(await sandbox.sha256(id));
}

describe('copyBatch against the sandbox and s3rver', () => {
  it('copies every demo file intact, DP: files included, with one downloadurls call', async () => {
    const results = await copyBatch(demo.map(refOf), ctx(), deps());
    expect(results).toHaveLength(demo.length);
    for (const [i, f] of demo.entries()) {
      await expectIntact(results[i], f.id);
      expect(copied(results[i]).bytes).toBe(f.size);
    }
    expect(sandbox.stats.downloadUrlCalls).toBe(1);
    expect(sandbox.stats.downloadsRefused ?? 0).toBe(0);
  });

  it('sends the DP: headers (the sandbox refuses a DP: GET without them) and names the file from the key JSON', async () => {
    const dp = demo.filter((f) => f.key.startsWith('DP:'));
    expect(dp.length).toBeGreaterThan(0);
    const results = await copyBatch(dp.map(refOf), ctx(), deps());
    for (const [i, f] of dp.entries()) {
      await expectIntact(results[i], f.id);
      expect(copied(results[i]).objectKey).toBe(`run${run}/${f.id}/${f.fileName}`);
    }
    expect(sandbox.stats.downloadsRefused ?? 0).toBe(0);
  });

  it('keeps CJK and odd names in the key, Content-Disposition (RFC 5987) and Content-Type', async () => {
    const odd = byName(`预算表 v2 (final) #3 & 50%+折扣=?'x'.xlsx`);
    const ofd = byName('电子发票 (增值税) 0001.ofd');
    const [r1, r2] = await copyBatch([refOf(odd), refOf(ofd)], ctx(), deps());
    await expectIntact(r1, odd.id);
    await expectIntact(r2, ofd.id);
    expect(copied(r1).objectKey).toBe(`run${run}/${odd.id}/${odd.fileName}`);
    const head = await s3.client.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: copied(r1).objectKey }),
    );
    expect(head.ContentType).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const star = /filename\*=UTF-8''(.+)$/.exec(head.ContentDisposition ?? '')?.[1] ?? '';
    expect(decodeURIComponent(star)).toBe(odd.fileName);
    expect(head.Metadata?.fileid).toBe(odd.id);
    expect(decodeURIComponent(head.Metadata?.['ekb-key'] ?? '')).toBe(odd.key);
    const ofdHead = await s3.client.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: copied(r2).objectKey }),
    );
    expect(ofdHead.ContentType).toBe('application/ofd');
  });

  it('streams a 1 GiB file into a multipart upload and stores it intact', async () => {
    const big: SandboxFile = {
      id: 'big1gib',
      key: 'openapi0f0e0d0c-0b0a-4909-8807-060504030201-archive 1GiB.bin',
      fileName: 'archive 1GiB.bin',
      size: GIB,
    };
    sandbox.addFile(big);
    const [r] = await copyBatch([refOf(big)], ctx(), deps(16 * MIB));
    const c = copied(r);
    expect(c.bytes).toBe(GIB);
    const [stored, source] = await Promise.all([
      sha256OfStream(createReadStream(s3.server.objectPath(c.objectKey), { highWaterMark: 4 * MIB })),
      sandbox.sha256(big.id),
    ]);
    expect(stored).toBe(source);
  });

  it('resolves a ref again when its URL has expired (403), then copies it', async () => {
    const f = byName('补充说明.txt');
    sandbox.inject({ kind: 'expiredUrl', times: 1 });
    const stats = newCopyStats();
    const [r] = await copyBatch([refOf(f)], ctx({ stats }), deps());
    await expectIntact(r, f.id);
    expect(stats.reResolves).toBe(1);
    expect(sandbox.stats.downloadUrlCalls).toBe(2);
    expect(sandbox.stats.downloadsRefused).toBe(1);
  });

  it('fails a body truncated on every try as integrity, and stores nothing', async () => {
    const f = byName('酒店 发票 2026-03.pdf');
    sandbox.inject({ kind: 'truncate', route: 'download', afterBytes: 10_000, times: 3 });
    const [r] = await copyBatch([refOf(f)], ctx(), deps());
    expect(r).toMatchObject({ status: 'failed', retryable: true });
    expect(['integrity', 'download_failed']).toContain(r?.status === 'failed' ? r.code : '');
    expect(sandbox.stats.downloadsStarted).toBe(3);
    expect(await exists(`run${run}/${f.id}/${f.fileName}`)).toBe(false);
  });

  it('leaves no object when a multipart-sized body is truncated on every try', async () => {
    const f: SandboxFile = {
      id: 'mid20',
      key: 'openapi-mid-20MiB.bin',
      fileName: 'mid 20MiB.bin',
      size: 20 * MIB,
    };
    sandbox.addFile(f);
    sandbox.inject({ kind: 'truncate', route: 'download', afterBytes: 13 * MIB, times: 3 });
    const [r] = await copyBatch([refOf(f)], ctx(), deps(5 * MIB));
    expect(r).toMatchObject({ status: 'failed', retryable: true });
    expect(await exists(`run${run}/mid20/mid 20MiB.bin`)).toBe(false);
  });

  it('retries a connection reset mid-body and then stores the whole file', async () => {
    const f = byName('借款申请书.docx');
    sandbox.inject({ kind: 'reset', route: 'download', afterBytes: 5_000, times: 1 });
    const stats = newCopyStats();
    const [r] = await copyBatch([refOf(f)], ctx({ stats }), deps());
    await expectIntact(r, f.id);
    expect(stats.downloadRetries).toBe(1);
    expect(sandbox.stats.downloadsStarted).toBe(2);
  });

  it('retries 5xx answers and then stores the file', async () => {
    const f = byName('审批意见.png');
    sandbox.inject({ kind: 'status', route: 'download', status: 503, times: 2 });
    const [r] = await copyBatch([refOf(f)], ctx(), deps());
    await expectIntact(r, f.id);
  });

  it('fails a ref 合思 does not know as not_found and copies the rest', async () => {
    const f = byName('补充说明.txt');
    const results = await copyBatch([{ id: 'nope', key: 'openapi-nope.pdf' }, refOf(f)], ctx(), deps());
    expect(results[0]).toMatchObject({ status: 'failed', code: 'not_found', retryable: false });
    await expectIntact(results[1], f.id);
  });

  it('at the deadline aborts the streaming file, starts no more, and leaves no partial object', async () => {
    const big: SandboxFile = {
      id: 'stall64',
      key: 'openapi-stall-64MiB.bin',
      fileName: 'stall.bin',
      size: 64 * MIB,
    };
    sandbox.addFile(big);
    const first = byName('补充说明.txt');
    const later = [byName('审批意见.png'), byName('借款申请书.docx')];
    sandbox.inject({ kind: 'stallBody', route: 'download', afterBytes: 12 * MIB, times: 1, fileId: big.id });
    const ac = new AbortController();
    const watcher = setInterval(() => {
      if ((sandbox.stats.faultsFired.stallBody ?? 0) > 0) setTimeout(() => ac.abort(), 200);
    }, 20);
    let results: CopyResult[];
    try {
      results = await copyBatch(
        [refOf(first), refOf(big), ...later.map(refOf)],
        ctx({ signal: ac.signal, concurrency: 1 }),
        deps(5 * MIB),
      );
    } finally {
      clearInterval(watcher);
    }
    await expectIntact(results[0], first.id);
    for (const r of results.slice(1))
      expect(r).toMatchObject({ status: 'failed', code: 'deadline', retryable: true });
    expect(await exists(`run${run}/stall64/stall.bin`)).toBe(false);
    expect(sandbox.stats.downloadsStarted).toBe(2);
  });

  it('skips every file on a second run of the same batch', async () => {
    const refs = demo.map(refOf);
    const first = await copyBatch(refs, ctx(), deps());
    expect(first.every((r) => r.status === 'copied')).toBe(true);
    const afterFirst = { ...sandbox.stats };
    const second = await copyBatch(refs, ctx(), deps());
    expect(second.map((r) => r.status)).toEqual(refs.map(() => 'skipped'));
    expect(second.map((r) => r.objectKey)).toEqual(first.map((r) => r.objectKey));
    // The objects carry their identity: the re-run is settled before any 合思 call, so no URL and no GET.
    expect(afterFirst.downloadsStarted).toBe(demo.length);
    expect(sandbox.stats.downloadsStarted).toBe(demo.length);
    expect(sandbox.stats.downloadUrlCalls).toBe(afterFirst.downloadUrlCalls);
  });
});
