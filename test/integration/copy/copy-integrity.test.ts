/**
 * The copy engine against every integrity fault of the sandbox, over real sockets (sandbox → client → undici →
 * the S3 sink → s3rver): a flipped byte with the right length, a wrong CRC-64 or Content-MD5, a checksum header
 * that is not one, a body that changes between two GETs, a source without checksums, Content-MD5 on. Each file
 * ends copied intact (its record true to the stored bytes) or failed with a reason, and no bad byte is stored.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Sink } from '../../../functions/aws/s3-sink.js';
import { type CopyDeps, copyBatch } from '../../../functions/core/copy/copy-batch.js';
import {
  createUndiciDownloader,
  type UndiciDownloader,
} from '../../../functions/core/copy/undici-downloader.js';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../../functions/core/ekuaibao/client.js';
import type { CopyResult } from '../../../functions/core/model/copy-result.js';
import { silentLogger } from '../../../functions/core/ports.js';
import { sha256OfContent } from '../../../infra/local/sandbox/content.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxFault, SandboxFile } from '../../../infra/local/sandbox/types.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const SMALL: SandboxFile = {
  id: 'intSmall01',
  key: 'openapi-int-small.pdf',
  fileName: 'small.pdf',
  size: 300 * KIB + 7,
};
const LARGE: SandboxFile = {
  id: 'intLarge01',
  key: 'openapi-int-large.pdf',
  fileName: 'large.pdf',
  size: 12 * MIB + 3,
};
const OLD: SandboxFile = {
  id: 'intOld0001',
  key: 'openapi-int-old.pdf',
  fileName: 'old.pdf',
  size: 40 * KIB,
  withoutCrc64: true,
};

let sandbox: EkuaibaoSandbox;
let s3: TestS3;
let client: EkuaibaoClient;
let downloader: UndiciDownloader;
let run = 0;

beforeAll(async () => {
  [sandbox, s3] = await Promise.all([
    startEkuaibaoSandbox({ files: [SMALL, LARGE, OLD], forms: [] }),
    startS3rver(),
  ]);
  client = createEkuaibaoClient({
    baseUrl: sandbox.baseUrl,
    credentials: () => ({ appKey: sandbox.appKey, appSecurity: sandbox.appSecurity }),
    backoff: { baseMs: 1, maxMs: 5 },
  });
  downloader = createUndiciDownloader({ headersTimeoutMs: 5_000, bodyTimeoutMs: 10_000 });
});

afterAll(async () => {
  await Promise.all([client?.close(), downloader?.close()]);
  await Promise.all([sandbox?.close(), s3?.close()]);
});

beforeEach(() => {
  sandbox.clearFaults();
  sandbox.setIntegrity({ crc64: true, contentMd5: false });
  run += 1;
});

const deps = (): CopyDeps => ({
  resolver: client,
  sink: createS3Sink({ client: s3.client, bucket: s3.bucket, partSizeBytes: 5 * MIB }),
  downloader,
  logger: silentLogger,
  sleep: async () => {},
});

async function copyOne(file: SandboxFile, faults: SandboxFault[] = []): Promise<CopyResult> {
  for (const f of faults) sandbox.inject(f);
  const started = sandbox.stats.downloadsStarted;
  const [r] = await copyBatch(
    [{ id: file.id, key: file.key }],
    { jobId: `int-${run}`, keyTemplate: `int${run}/{fileId}/{fileName}` },
    deps(),
  );
  gets = sandbox.stats.downloadsStarted - started;
  return r as CopyResult;
}
let gets = 0;

async function stored(key: string): Promise<string | undefined> {
  try {
    const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    const h = createHash('sha256');
    for await (const chunk of out.Body as AsyncIterable<Uint8Array>) h.update(chunk);
    return h.digest('hex');
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

/** Every object this run stored (each test run writes under its own prefix). */
async function objectsOfRun(): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `int${run}/` }));
  return (out.Contents ?? []).map((o) => o.Key as string);
}

function copied(r: CopyResult): Extract<CopyResult, { status: 'copied' }> {
  expect(r, JSON.stringify(r)).toMatchObject({ status: 'copied' });
  return r as Extract<CopyResult, { status: 'copied' }>;
}

describe('copy against a source that lies about its bytes (sandbox → s3rver)', () => {
  it.each([
    ['a file under one part', SMALL],
    ['a multipart file', LARGE],
  ])(
    'downloads %s again after one flipped byte with the right length, and stores it intact',
    async (_l, file) => {
      const r = copied(await copyOne(file, [{ kind: 'corruptBody', times: 1 }]));
      expect(gets).toBe(2);
      const truth = await sandbox.sha256(file.id);
      expect(r.record.sha256).toBe(truth);
      expect(r.record.source).toEqual({ crc64: (await sandbox.checksums(file.id)).crc64, verified: true });
      expect(await stored(r.objectKey)).toBe(truth);
    },
  );

  it.each([
    ['a file under one part', SMALL],
    ['a multipart file', LARGE],
  ])(
    'fails %s as integrity_mismatch when both downloads are corrupt, and stores nothing',
    async (_l, file) => {
      const r = await copyOne(file, [{ kind: 'corruptBody', atByte: 1234, times: 2 }]);
      expect(r).toMatchObject({ status: 'failed', code: 'integrity_mismatch', retryable: false });
      expect(r.status === 'failed' && r.message).toContain('x-oss-hash-crc64ecma');
      expect(gets).toBe(2);
      expect(await objectsOfRun()).toEqual([]);
    },
  );

  it('fails on a wrong x-oss-hash-crc64ecma twice, copies when the second answer is right', async () => {
    expect(await copyOne(SMALL, [{ kind: 'wrongChecksum', times: 2 }])).toMatchObject({
      code: 'integrity_mismatch',
    });
    expect(await objectsOfRun()).toEqual([]);
    run += 1;
    const ok = copied(await copyOne(SMALL, [{ kind: 'wrongChecksum', times: 1 }]));
    expect(await stored(ok.objectKey)).toBe(await sandbox.sha256(SMALL.id));
  });

  it('checks Content-MD5 when the source sends it, records it, and fails a wrong one', async () => {
    sandbox.setIntegrity({ contentMd5: true });
    const { md5, crc64 } = await sandbox.checksums(SMALL.id);
    const r = copied(await copyOne(SMALL));
    expect(r.record.source).toEqual({ crc64, md5, verified: true });
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: r.objectKey }));
    expect(head.Metadata).toMatchObject({
      'source-crc64': crc64,
      'source-md5': md5,
      sha256: r.record.sha256,
    });
    run += 1;
    const bad = await copyOne(SMALL, [{ kind: 'wrongChecksum', header: 'md5', times: 2 }]);
    expect(bad).toMatchObject({ status: 'failed', code: 'integrity_mismatch' });
    expect(bad.status === 'failed' && bad.message).toContain('content-md5');
    expect(await objectsOfRun()).toEqual([]);
  });

  it('fails a malformed checksum header as a clear per-file failure, never a crash', async () => {
    const r = await copyOne(SMALL, [{ kind: 'malformedChecksum', value: '12ab', times: 2 }]);
    expect(r).toMatchObject({ status: 'failed', code: 'source_checksum_invalid', retryable: false });
    expect(r.status === 'failed' && r.message).toContain(
      'x-oss-hash-crc64ecma "12ab" is not an unsigned 64-bit decimal',
    );
    expect(await objectsOfRun()).toEqual([]);
    run += 1;
    copied(await copyOne(SMALL, [{ kind: 'malformedChecksum', header: 'md5', times: 1 }]));
  });

  it('stores exactly the version one GET served when the body changes between GETs, its record true to it', async () => {
    const r = copied(await copyOne(SMALL, [{ kind: 'changingBody', times: 1 }]));
    const bytes = await stored(r.objectKey);
    // The served version is not the one the sandbox serves now: the record follows the bytes, not the file id.
    expect(bytes).not.toBe(await sandbox.sha256(SMALL.id));
    expect(r.record.sha256).toBe(bytes);
    expect(r.record.source.verified).toBe(true);
  });

  it('never mixes two versions when a changed body breaks off and the next GET serves the other', async () => {
    const r = copied(
      await copyOne(LARGE, [
        { kind: 'changingBody', times: 1 },
        { kind: 'reset', route: 'download', afterBytes: 6 * MIB, times: 1 },
      ]),
    );
    expect(gets).toBe(2);
    const truth = await sandbox.sha256(LARGE.id);
    expect(await stored(r.objectKey)).toBe(truth);
    expect(r.record.sha256).toBe(truth);
  });

  it('archives a file whose source sends no checksum with its SHA-256, marked not verifiable', async () => {
    const r = copied(await copyOne(OLD));
    expect(r.record.source).toEqual({ verified: false });
    expect(r.record.sha256).toBe(await sha256OfContent(OLD.id, OLD.size));
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: r.objectKey }));
    expect(head.Metadata).not.toHaveProperty('source-crc64');
    expect(head.Metadata?.sha256).toBe(r.record.sha256);
    // And with the CRC-64 switched off for every file (an OSS bucket from before CRC-64).
    sandbox.setIntegrity({ crc64: false });
    run += 1;
    expect(copied(await copyOne(SMALL)).record.source).toEqual({ verified: false });
  });

  it("tags a multipart object with its SHA-256, so a re-run's skip brings the record back", async () => {
    const first = copied(await copyOne(LARGE));
    const tags = await s3.client.send(
      new GetObjectTaggingCommand({ Bucket: s3.bucket, Key: first.objectKey }),
    );
    expect(tags.TagSet).toEqual([{ Key: 'ekb-sha256', Value: first.record.sha256 }]);
    const again = await copyOne(LARGE);
    expect(again.status).toBe('skipped');
    expect(again.status === 'skipped' && again.record).toMatchObject({
      sha256: first.record.sha256,
      size: LARGE.size,
      source: first.record.source,
    });
  });
});
