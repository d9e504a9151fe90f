/**
 * The S3 sink's integrity requests, on the AWS path (checksums on): what it asks S3 to verify and keep, what it
 * records from the answers, and that a body failing its checks is never sent whole. aws-sdk-client-mock stands in
 * for S3 here because s3rver implements neither additional checksums nor Object Lock.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createS3Sink, type S3SinkOptions } from '../../../functions/aws/s3-sink.js';
import { Crc64 } from '../../../functions/core/integrity/crc64.js';
import { readSourceChecksums } from '../../../functions/core/integrity/source-checksums.js';
import { VerifyingTransform } from '../../../functions/core/integrity/verifying-transform.js';
import type { PutObjectOptions } from '../../../functions/core/ports.js';

const MIB = 1024 * 1024;
const NOW = Date.parse('2026-03-01T08:00:00Z');
const s3 = mockClient(S3Client);
const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
/** AWS S3: the SDK computes checksums when supported. */
const awsClient = new S3Client({ region: 'us-east-1', credentials });
/** A custom endpoint (s3rver, MinIO): checksums only when required (s3-client.ts). */
const customClient = new S3Client({
  region: 'us-east-1',
  credentials,
  requestChecksumCalculation: 'WHEN_REQUIRED',
});

function sink(extra: Partial<S3SinkOptions> = {}) {
  return createS3Sink({
    client: awsClient,
    bucket: 'b',
    partSizeBytes: 5 * MIB,
    queueSize: 2,
    now: () => NOW,
    ...extra,
  });
}

function bytes(size: number, seed = 7): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) b[i] = (i / 4096 + seed) & 0xff;
  return b;
}

/** The body as the copy engine hands it over: through its VerifyingTransform, in 1 MiB chunks. */
function verified(data: Buffer, crc64 = new Crc64().update(data).digestDecimal()) {
  const read = readSourceChecksums({ 'x-oss-hash-crc64ecma': crc64 });
  if (!('ok' in read)) throw new Error('bad test header');
  const verifier = new VerifyingTransform({ contentLength: data.length, checksums: read.ok });
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += MIB) chunks.push(data.subarray(i, i + MIB));
  Readable.from(chunks).pipe(verifier);
  const options: PutObjectOptions = {
    contentLength: data.length,
    contentType: 'application/pdf',
    contentDisposition: 'attachment',
    metadata: { fileid: 'F1', 'source-crc64': crc64 },
    sha256: () => verifier.proof?.sha256,
    signal: new AbortController().signal,
  };
  return { verifier, options };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

describe('S3 sink on AWS: additional checksums and the proof it records', () => {
  beforeEach(() => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCommand).callsFake(async (input: { PartNumber?: number }) => ({
      ETag: `"e${input.PartNumber}"`,
      ChecksumCRC64NVME: `part${input.PartNumber}==`,
    }));
    s3.on(CompleteMultipartUploadCommand).resolves({
      VersionId: 'v-mpu',
      ChecksumCRC64NVME: 'AAAAAAAAAAA=',
      ChecksumType: 'FULL_OBJECT',
    });
    s3.on(AbortMultipartUploadCommand).resolves({});
    s3.on(PutObjectTaggingCommand).resolves({});
    s3.on(PutObjectCommand).callsFake(async (input: { ChecksumSHA256?: string }) => ({
      ETag: '"p"',
      VersionId: 'v-put',
      ...(input.ChecksumSHA256 ? { ChecksumSHA256: input.ChecksumSHA256, ChecksumType: 'FULL_OBJECT' } : {}),
    }));
  });
  afterEach(() => s3.reset());

  it('sends a file under one part once it ended, with its SHA-256 for S3 to verify and keep', async () => {
    const data = bytes(3 * MIB);
    const { verifier, options } = verified(data);
    const out = await sink().put('attachments/F1/a.pdf', verifier, options);
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    const sha = sha256(data);
    expect(put?.ChecksumSHA256).toBe(sha.toString('base64'));
    expect(put?.Metadata).toEqual({
      fileid: 'F1',
      'source-crc64': options.metadata['source-crc64'],
      sha256: sha.toString('hex'),
    });
    expect(Buffer.compare(put?.Body as Buffer, data)).toBe(0);
    expect(put?.ContentLength).toBe(3 * MIB);
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
    expect(out).toEqual({
      bytes: 3 * MIB,
      versionId: 'v-put',
      checksum: { algorithm: 'SHA256', value: sha.toString('base64') },
    });
  });

  it('uploads a larger file with CRC64NVME on every part, a full-object checksum and its size checked', async () => {
    const data = bytes(12 * MIB);
    const { verifier, options } = verified(data);
    const out = await sink().put('attachments/F1/big.pdf', verifier, options);
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input).toMatchObject({
      ChecksumAlgorithm: 'CRC64NVME',
      ChecksumType: 'FULL_OBJECT',
      Metadata: { fileid: 'F1' },
    });
    const parts = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
    expect(parts).toHaveLength(3);
    for (const part of parts) expect(part.ChecksumAlgorithm).toBe('CRC64NVME');
    const complete = s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input;
    expect(complete).toMatchObject({ ChecksumType: 'FULL_OBJECT', MpuObjectSize: 12 * MIB, UploadId: 'u1' });
    expect(complete?.MultipartUpload?.Parts?.map((p) => p.ChecksumCRC64NVME).sort()).toEqual([
      'part1==',
      'part2==',
      'part3==',
    ]);
    expect(out).toEqual({
      bytes: 12 * MIB,
      versionId: 'v-mpu',
      checksum: { algorithm: 'CRC64NVME', value: 'AAAAAAAAAAA=' },
    });
    // The metadata was fixed before the bytes: the SHA-256 goes onto the written version as a tag.
    expect(s3.commandCalls(PutObjectTaggingCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Key: 'attachments/F1/big.pdf',
      VersionId: 'v-mpu',
      Tagging: { TagSet: [{ Key: 'ekb-sha256', Value: sha256(data).toString('hex') }] },
    });
  });

  it('keeps the upload when the tag cannot be written, and says so', async () => {
    s3.on(PutObjectTaggingCommand).rejects(new Error('AccessDenied'));
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn: (m: string) => void warnings.push(m),
      error() {},
      child() {
        return logger;
      },
    };
    const { verifier, options } = verified(bytes(6 * MIB));
    const out = await sink({ logger }).put('k', verifier, options);
    expect(out.versionId).toBe('v-mpu');
    expect(warnings[0]).toContain('SHA-256');
  });

  it('never sends a file under one part whose bytes fail their CRC-64', async () => {
    const data = bytes(3 * MIB);
    const { verifier, options } = verified(data, '12345');
    await expect(sink().put('k', verifier, options)).rejects.toMatchObject({ code: 'integrity_mismatch' });
    expect(s3.calls()).toHaveLength(0);
  });

  it('without a Content-Length sends a small body as one PutObject, only after the end', async () => {
    // The multipart path hands out a body shorter than one part only once the stream has ended (multipart-upload.ts,
    // partsOf) and then sends it as one PutObject; a failed check ends the stream first.
    const bad = verified(bytes(2 * MIB), '12345');
    const { contentLength: _bad, ...unknownBad } = bad.options;
    await expect(sink().put('k', bad.verifier, unknownBad)).rejects.toMatchObject({
      code: 'integrity_mismatch',
    });
    expect(s3.calls()).toHaveLength(0);

    const good = verified(bytes(2 * MIB));
    const { contentLength: _good, ...unknownGood } = good.options;
    const out = await sink().put('k', good.verifier, unknownGood);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.ChecksumAlgorithm).toBe('CRC64NVME');
    expect(out.versionId).toBe('v-put');
    expect(s3.commandCalls(PutObjectTaggingCommand)[0]?.args[0].input.VersionId).toBe('v-put');
  });

  it('aborts, never completes, a multipart upload whose bytes fail their CRC-64', async () => {
    const data = bytes(12 * MIB);
    const { verifier, options } = verified(data, '12345');
    await expect(sink().put('k', verifier, options)).rejects.toMatchObject({ code: 'integrity_mismatch' });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    // The last part waited for the check: it was never uploaded.
    expect(s3.commandCalls(UploadPartCommand).length).toBeLessThan(3);
    expect(s3.commandCalls(PutObjectTaggingCommand)).toHaveLength(0);
  });

  it('against a custom endpoint asks for no additional checksum, and still keeps the SHA-256 in metadata', async () => {
    const small = bytes(MIB);
    const a = verified(small);
    await sink({ client: customClient }).put('k', a.verifier, a.options);
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).not.toHaveProperty('ChecksumSHA256');
    expect(put).not.toHaveProperty('ChecksumAlgorithm');
    expect(put?.Metadata?.sha256).toBe(sha256(small).toString('hex'));

    const b = verified(bytes(6 * MIB));
    await sink({ client: customClient }).put('k2', b.verifier, b.options);
    const create = s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input;
    expect(create).not.toHaveProperty('ChecksumAlgorithm');
    expect(create).not.toHaveProperty('ChecksumType');
    for (const c of s3.commandCalls(UploadPartCommand))
      expect(c.args[0].input).not.toHaveProperty('ChecksumAlgorithm');
  });

  it('locks archived files with Object Lock, checksums included even against a custom endpoint', async () => {
    const retention = { mode: 'COMPLIANCE' as const, years: 10 };
    const a = verified(bytes(MIB));
    await sink({ client: customClient, retention }).put('k', a.verifier, a.options);
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ ObjectLockMode: 'COMPLIANCE' });
    expect(put?.ObjectLockRetainUntilDate?.toISOString()).toBe('2036-03-01T08:00:00.000Z');
    expect(put?.ChecksumSHA256).toBeDefined();

    const b = verified(bytes(6 * MIB));
    await sink({ client: customClient, retention: { mode: 'GOVERNANCE', years: 1 } }).put(
      'k2',
      b.verifier,
      b.options,
    );
    const create = s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input;
    expect(create).toMatchObject({ ObjectLockMode: 'GOVERNANCE', ChecksumAlgorithm: 'CRC64NVME' });
    expect(create?.ObjectLockRetainUntilDate?.toISOString()).toBe('2027-03-01T08:00:00.000Z');
    for (const c of s3.commandCalls(UploadPartCommand))
      expect(c.args[0].input.ChecksumAlgorithm).toBe('CRC64NVME');
  });
});

describe('S3 sink HEAD: what an existing object proves', () => {
  afterEach(() => s3.reset());

  it('asks for the checksum and answers it with the version and time', async () => {
    s3.on(HeadObjectCommand).resolves({
      ContentLength: 10,
      Metadata: { fileid: 'F1', sha256: 'a'.repeat(64) },
      VersionId: 'v1',
      LastModified: new Date(NOW),
      ChecksumSHA256: 'c2hh',
      ChecksumType: 'FULL_OBJECT',
    });
    expect(await sink().head('k')).toEqual({
      size: 10,
      metadata: { fileid: 'F1', sha256: 'a'.repeat(64) },
      versionId: 'v1',
      lastModified: '2026-03-01T08:00:00.000Z',
      checksum: { algorithm: 'SHA256', value: 'c2hh' },
    });
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input.ChecksumMode).toBe('ENABLED');
    expect(s3.commandCalls(GetObjectTaggingCommand)).toHaveLength(0);
  });

  it("reads a large object's SHA-256 tag when its metadata has none", async () => {
    s3.on(HeadObjectCommand).resolves({
      ContentLength: 9 * MIB,
      Metadata: { fileid: 'F1' },
      VersionId: 'v2',
    });
    s3.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'ekb-sha256', Value: 'b'.repeat(64) }] });
    const head = await sink().head('k');
    expect(head?.tags).toEqual({ 'ekb-sha256': 'b'.repeat(64) });
    expect(s3.commandCalls(GetObjectTaggingCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Key: 'k',
      VersionId: 'v2',
    });
  });

  it('still answers the HEAD when the tags cannot be read', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 9 * MIB, Metadata: {} });
    s3.on(GetObjectTaggingCommand).rejects(
      new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } }),
    );
    expect((await sink().head('k'))?.size).toBe(9 * MIB);
  });
});
