import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createS3Sink } from '../../../functions/aws/s3-sink.js';

const MIB = 1024 * 1024;
const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const sink = () => createS3Sink({ client, bucket: 'b', partSizeBytes: 5 * MIB, queueSize: 2 });

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

/** `mib` MiB in 1 MiB chunks; optionally errors (like a reset download) after `failAfterMib`. */
function body(mib: number, failAfterMib?: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (failAfterMib !== undefined && sent === failAfterMib) {
        this.destroy(new Error('read ECONNRESET'));
        return;
      }
      if (sent === mib) {
        this.push(null);
        return;
      }
      sent += 1;
      this.push(Buffer.alloc(MIB, sent));
    },
  });
}

const putOptions = (signal = new AbortController().signal, contentLength?: number) => ({
  contentType: 'application/pdf',
  contentDisposition: `attachment; filename="a.pdf"; filename*=UTF-8''a.pdf`,
  metadata: { fileid: 'F1', 'ekb-key': 'k' },
  signal,
  ...(contentLength === undefined ? {} : { contentLength }),
});

describe('createS3Sink', () => {
  beforeEach(() => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCommand).callsFake(async (input: { PartNumber?: number }) => ({
      ETag: `"e${input.PartNumber}"`,
    }));
    s3.on(CompleteMultipartUploadCommand).resolves({});
    s3.on(AbortMultipartUploadCommand).resolves({});
    s3.on(PutObjectCommand).resolves({ ETag: '"p"' });
  });
  afterEach(() => s3.reset());

  it('answers HEAD with the size and metadata', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 42, Metadata: { fileid: 'F1' } });
    expect(await sink().head('k')).toEqual({ size: 42, metadata: { fileid: 'F1' } });
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Key: 'k',
      ChecksumMode: 'ENABLED',
    });
  });

  it('answers undefined for a missing object', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    expect(await sink().head('k')).toBeUndefined();
  });

  it('passes other HEAD errors on', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('Forbidden', 403));
    await expect(sink().head('k')).rejects.toThrow('Forbidden');
  });

  it('sends a small body as one PutObject with type, disposition, metadata and length', async () => {
    const small = Readable.from([Buffer.from('hello')]);
    const out = await sink().put('a/b.pdf', small, putOptions(undefined, 5));
    expect(out.bytes).toBe(5);
    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Bucket: 'b',
      Key: 'a/b.pdf',
      ContentType: 'application/pdf',
      ContentDisposition: `attachment; filename="a.pdf"; filename*=UTF-8''a.pdf`,
      Metadata: { fileid: 'F1', 'ekb-key': 'k' },
      ContentLength: 5,
    });
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it('streams a large body in parts of the chosen size and completes the upload', async () => {
    const out = await sink().put('big', body(12), putOptions(undefined, 12 * MIB));
    expect(out.bytes).toBe(12 * MIB);
    const parts = s3.commandCalls(UploadPartCommand).map((c) => (c.args[0].input.Body as Uint8Array).length);
    expect(parts.sort((a, b) => b - a)).toEqual([5 * MIB, 5 * MIB, 2 * MIB]);
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input).toMatchObject({
      ContentType: 'application/pdf',
      Metadata: { fileid: 'F1', 'ekb-key': 'k' },
    });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
  });

  it('completes with the parts in order, their entity tags, and the object size; without a part-sized ContentLength', async () => {
    await sink().put('big', body(12), putOptions(undefined, 12 * MIB));
    const parts = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
    for (const p of parts) expect(p.ContentLength).toBeUndefined();
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input).toMatchObject({
      UploadId: 'u1',
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: '"e1"' },
          { PartNumber: 2, ETag: '"e2"' },
          { PartNumber: 3, ETag: '"e3"' },
        ],
      },
    });
  });

  it("reads a large body's parts into the memory of answered parts: a few buffers, whatever the size", async () => {
    const firstBytes: number[] = [];
    s3.on(UploadPartCommand).callsFake(async (input: { PartNumber?: number; Body: Buffer }) => {
      // What the part holds when it is sent (its buffer is another part's later on).
      firstBytes[(input.PartNumber ?? 0) - 1] = input.Body[0] as number;
      return { ETag: `"e${input.PartNumber}"` };
    });
    await sink().put('big', body(42), putOptions(undefined, 42 * MIB));
    const bodies = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input.Body as Buffer);
    expect(bodies).toHaveLength(9);
    // queueSize 2: two parts in flight, one being read, one read and waiting for the next byte.
    expect(new Set(bodies.map((b) => b.buffer)).size).toBeLessThanOrEqual(4);
    // Each part carried its own bytes (the body's MiB k holds the byte k).
    expect(firstBytes).toEqual([1, 6, 11, 16, 21, 26, 31, 36, 41]);
  });

  it('sends a body of unknown length that ends within one part as one PutObject', async () => {
    const out = await sink().put('small', body(3), putOptions());
    expect(out.bytes).toBe(3 * MIB);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Key: 'small',
      ContentLength: 3 * MIB,
    });
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it('aborts the multipart upload and never completes it when a part upload fails', async () => {
    s3.on(UploadPartCommand, { PartNumber: 2 }).rejects(s3Error('InternalError', 500));
    await expect(sink().put('big', body(12), putOptions(undefined, 12 * MIB))).rejects.toThrow(
      'InternalError',
    );
    expect(s3.commandCalls(AbortMultipartUploadCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Key: 'big',
      UploadId: 'u1',
    });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('aborts the multipart upload when the body breaks off mid-stream', async () => {
    await expect(sink().put('big', body(12, 7), putOptions(undefined, 12 * MIB))).rejects.toThrow(
      'ECONNRESET',
    );
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('says the body is in (bodyIn) after reading it whole and before its PutObject is answered', async () => {
    const order: string[] = [];
    s3.on(PutObjectCommand).callsFake(async () => {
      order.push('put');
      return { ETag: '"p"' };
    });
    await sink().put('a.bin', body(3), {
      ...putOptions(undefined, 3 * MIB),
      bodyIn: () => order.push('bodyIn'),
    });
    expect(order).toEqual(['bodyIn', 'put']);
  });

  it('reuses the buffer of an answered PutObject for the next body, and never the buffer of a failed one', async () => {
    const bodies: Buffer[] = [];
    let fail = true;
    s3.on(PutObjectCommand).callsFake(async (input: { Body: Buffer }) => {
      bodies.push(input.Body);
      if (fail) throw s3Error('InternalError', 500);
      return { ETag: '"p"' };
    });
    const target = sink();
    await expect(target.put('a', body(3), putOptions(undefined, 3 * MIB))).rejects.toThrow('InternalError');
    fail = false;
    await target.put('b', body(3), putOptions(undefined, 3 * MIB));
    await target.put('c', body(2), putOptions(undefined, 2 * MIB));
    const [failed, first, second] = bodies as [Buffer, Buffer, Buffer];
    // The failed request's memory stays its own; the answered one's goes to the next body, filled anew.
    expect(first.buffer).not.toBe(failed.buffer);
    expect(second.buffer).toBe(first.buffer);
    expect(second.length).toBe(2 * MIB);
    expect(second[0]).toBe(1);
    expect(second[MIB]).toBe(2);
  });

  it('sends nothing when a body under one part breaks off', async () => {
    await expect(sink().put('small', body(3, 2), putOptions(undefined, 3 * MIB))).rejects.toThrow(
      'ECONNRESET',
    );
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it('aborts the upload when the signal fires and rejects as aborted', async () => {
    const ac = new AbortController();
    let sent = 0;
    const endless = new Readable({
      read() {
        sent += 1;
        if (sent === 8) ac.abort();
        setImmediate(() => this.push(Buffer.alloc(MIB)));
      },
    });
    await expect(sink().put('big', endless, putOptions(ac.signal))).rejects.toMatchObject({
      code: 'aborted',
    });
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(endless.destroyed).toBe(true);
  });

  it('has aborted the multipart upload before put() rejects, even when the stop came while it was being created', async () => {
    // The deadline fires while CreateMultipartUpload is still in flight, and the upload stops at once:
    // put() must not return (a Lambda may freeze right after) before the upload that call created is aborted.
    let answer: (() => void) | undefined;
    s3.on(CreateMultipartUploadCommand).callsFake(
      () => new Promise((resolve) => (answer = () => resolve({ UploadId: 'u-late' }))),
    );
    const ac = new AbortController();
    const parts = [Buffer.alloc(5 * MIB), Buffer.alloc(5 * MIB), Buffer.alloc(MIB)];
    const slow = new Readable({
      read() {
        const next = parts.shift();
        if (next) this.push(next);
      },
    });
    const putting = createS3Sink({
      client,
      bucket: 'b',
      partSizeBytes: 5 * MIB,
      queueSize: 2,
    }).put('late', slow, putOptions(ac.signal));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(1);
    ac.abort();
    await new Promise((resolve) => setTimeout(resolve, 20));
    answer?.();
    await expect(putting).rejects.toMatchObject({ code: 'aborted' });
    const aborts = s3.commandCalls(AbortMultipartUploadCommand);
    expect(aborts.map((c) => c.args[0].input.UploadId)).toEqual(['u-late']);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('refuses at once when the signal has already fired', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(sink().put('k', body(1), putOptions(ac.signal))).rejects.toMatchObject({ code: 'aborted' });
    expect(s3.calls()).toHaveLength(0);
  });

  it('answers HEAD with the entity tag and last-modified time an overwrite and a report need', async () => {
    s3.on(HeadObjectCommand).resolves({
      ContentLength: 3,
      Metadata: {},
      ETag: '"abc"',
      LastModified: new Date('2026-01-02T03:04:05Z'),
    });
    expect(await sink().head('k')).toEqual({
      size: 3,
      metadata: {},
      etag: '"abc"',
      lastModified: '2026-01-02T03:04:05.000Z',
    });
  });

  it('lists one page of keys after StartAfter and says whether more follow', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: 'attachments/a' }, { Key: 'attachments/b' }],
      IsTruncated: true,
    });
    expect(
      await sink().listKeys?.({ prefix: 'attachments/', startAfter: 'attachments/', maxKeys: 1000 }),
    ).toEqual({
      keys: ['attachments/a', 'attachments/b'],
      truncated: true,
    });
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Prefix: 'attachments/',
      StartAfter: 'attachments/',
      MaxKeys: 1000,
    });
  });

  it('writes a free key with If-None-Match: * on the one PutObject', async () => {
    await sink().put('a', Readable.from([Buffer.from('hi')]), {
      ...putOptions(),
      condition: { ifNoneMatch: true },
    });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ IfNoneMatch: '*' });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).not.toHaveProperty('IfMatch');
  });

  it('makes a multipart upload conditional where S3 decides it: on CompleteMultipartUpload', async () => {
    await sink().put('big', body(12), {
      ...putOptions(undefined, 12 * MIB),
      condition: { ifNoneMatch: true },
    });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input).toMatchObject({
      Key: 'big',
      UploadId: 'u1',
      IfNoneMatch: '*',
    });
  });

  it('names the entity tag of the object an overwrite replaces (If-Match)', async () => {
    await sink().put('a', Readable.from([Buffer.from('hi')]), {
      ...putOptions(),
      condition: { ifMatch: '"e1"' },
    });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ IfMatch: '"e1"' });
    await sink().put('big', body(12), { ...putOptions(undefined, 12 * MIB), condition: { ifMatch: '"e2"' } });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input).toMatchObject({
      IfMatch: '"e2"',
    });
  });

  it('turns a lost race (412 on PutObject) into write_conflict', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    await expect(
      sink().put('a', Readable.from([Buffer.from('hi')]), {
        ...putOptions(),
        condition: { ifNoneMatch: true },
      }),
    ).rejects.toMatchObject({ code: 'write_conflict', retryable: true });
  });

  it('turns 412 and 409 on CompleteMultipartUpload into write_conflict and aborts the parts', async () => {
    for (const [name, status] of [
      ['PreconditionFailed', 412],
      ['ConditionalRequestConflict', 409],
    ] as const) {
      s3.reset();
      s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
      s3.on(UploadPartCommand).resolves({ ETag: '"e"' });
      s3.on(AbortMultipartUploadCommand).resolves({});
      s3.on(CompleteMultipartUploadCommand).rejects(s3Error(name, status));
      await expect(
        sink().put('big', body(12), { ...putOptions(undefined, 12 * MIB), condition: { ifNoneMatch: true } }),
      ).rejects.toMatchObject({ code: 'write_conflict' });
      expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    }
  });

  it('passes a 412 on an unconditional write on as it is', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    await expect(sink().put('a', Readable.from([Buffer.from('hi')]), putOptions())).rejects.toThrow(
      'PreconditionFailed',
    );
  });
});
