import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedS3, encodeEventKey, startEmbeddedS3 } from '../../../infra/local/embedded-s3.js';

describe('embedded S3 (s3rver) with S3 event notifications', () => {
  let dir: string;
  let s3e: EmbeddedS3;
  let s3: S3Client;
  const events: S3Event[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ekb-embedded-s3-'));
    s3e = await startEmbeddedS3({
      directory: dir,
      bucket: 'archive',
      onObjectCreated: (e) => events.push(e),
    });
    s3 = new S3Client({
      endpoint: s3e.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  afterAll(async () => {
    s3.destroy();
    await s3e.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the bucket and keeps objects as files in the data folder', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'archive', Key: 'a/简 1.txt', Body: 'hello' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'archive', Key: 'a/简 1.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello');
    expect(s3e.objectPath('a/简 1.txt').startsWith(dir)).toBe(true);
    expect(await readFile(s3e.objectPath('a/简 1.txt'), 'utf8')).toBe('hello');
  });

  it('emits the S3 event record AWS delivers, key URL-encoded as in real notifications', async () => {
    events.length = 0;
    await s3.send(new PutObjectCommand({ Bucket: 'archive', Key: 'manifests/a b+c 简.jsonl', Body: 'x\n' }));
    expect(events).toHaveLength(1);
    const r = events[0]?.Records[0];
    expect(r).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: 'archive', arn: 'arn:aws:s3:::archive' },
        object: { key: 'manifests/a+b%2Bc+%E7%AE%80.jsonl', size: 2 },
      },
    });
    expect(r?.s3.object.eTag).toMatch(/^[0-9a-f]{32}$/);
    expect(decodeURIComponent((r?.s3.object.key ?? '').replace(/\+/g, ' '))).toBe('manifests/a b+c 简.jsonl');
  });

  it('reports a completed multipart upload as ObjectCreated:CompleteMultipartUpload', async () => {
    events.length = 0;
    const body = Buffer.alloc(6 * 1024 * 1024, 7);
    await new Upload({
      client: s3,
      params: { Bucket: 'archive', Key: 'manifests/big.jsonl', Body: body },
      partSize: 5 * 1024 * 1024,
    }).done();
    const names = events.map((e) => e.Records[0]?.eventName);
    expect(names).toContain('ObjectCreated:CompleteMultipartUpload');
  });

  it('copies objects, replaces metadata in place, serves ranges and deletes, through the atomic store', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: 'archive',
        Key: 'c/src.txt',
        Body: '0123456789',
        ContentType: 'text/plain',
        Metadata: { fileid: 'f1' },
      }),
    );
    await s3.send(
      new CopyObjectCommand({ Bucket: 'archive', Key: 'c/dst.txt', CopySource: 'archive/c/src.txt' }),
    );
    const copied = await s3.send(new GetObjectCommand({ Bucket: 'archive', Key: 'c/dst.txt' }));
    expect(await copied.Body?.transformToString()).toBe('0123456789');
    expect(copied.Metadata).toEqual({ fileid: 'f1' });
    expect(copied.ContentType).toBe('text/plain');

    await s3.send(
      new CopyObjectCommand({
        Bucket: 'archive',
        Key: 'c/dst.txt',
        CopySource: 'archive/c/dst.txt',
        MetadataDirective: 'REPLACE',
        ContentType: 'application/pdf',
        Metadata: { fileid: 'f2' },
      }),
    );
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: 'archive', Key: 'c/dst.txt' }));
    expect(replaced).toMatchObject({
      ContentType: 'application/pdf',
      Metadata: { fileid: 'f2' },
      ContentLength: 10,
    });

    const range = await s3.send(
      new GetObjectCommand({ Bucket: 'archive', Key: 'c/dst.txt', Range: 'bytes=2-5' }),
    );
    expect(await range.Body?.transformToString()).toBe('2345');
    expect(range.ContentRange).toBe('bytes 2-5/10');

    await s3.send(new DeleteObjectCommand({ Bucket: 'archive', Key: 'c/dst.txt' }));
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: 'archive', Key: 'c/dst.txt' })),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    expect(
      await (
        await s3.send(new GetObjectCommand({ Bucket: 'archive', Key: 'c/src.txt' }))
      ).Body?.transformToString(),
    ).toBe('0123456789');
  });

  describe("S3's conditional writes (s3rver ignores them; the copy engine relies on them)", () => {
    const text = async (key: string) =>
      (await s3.send(new GetObjectCommand({ Bucket: 'archive', Key: key }))).Body?.transformToString();
    const put = (key: string, body: string, condition: { IfNoneMatch?: string; IfMatch?: string }) =>
      s3.send(
        new PutObjectCommand({
          Bucket: 'archive',
          Key: key,
          Body: body,
          Metadata: { fileid: body.slice(0, 8) },
          ...condition,
        }),
      );
    const leftovers = async () =>
      (await readdir(dir, { recursive: true })).filter((f) => /ekb-tmp-|ekb-commit/.test(String(f)));

    it('If-None-Match: * writes a free key only; on a taken key it is 412 and the object stays as it was', async () => {
      await put('cond/a.txt', 'first', { IfNoneMatch: '*' });
      await expect(put('cond/a.txt', 'second', { IfNoneMatch: '*' })).rejects.toMatchObject({
        name: 'PreconditionFailed',
        $metadata: { httpStatusCode: 412 },
      });
      expect(await text('cond/a.txt')).toBe('first');
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'archive', Key: 'cond/a.txt' }));
      expect(head.Metadata).toEqual({ fileid: 'first' });
      expect(await leftovers()).toEqual([]);
    });

    it('If-Match replaces only the object with that ETag; a stale one is 412, a missing key 404 NoSuchKey', async () => {
      const first = await put('cond/b.txt', 'one', {});
      await put('cond/b.txt', 'two', { IfMatch: first.ETag as string });
      expect(await text('cond/b.txt')).toBe('two');
      await expect(put('cond/b.txt', 'three', { IfMatch: first.ETag as string })).rejects.toMatchObject({
        name: 'PreconditionFailed',
        $metadata: { httpStatusCode: 412 },
      });
      expect(await text('cond/b.txt')).toBe('two');
      await expect(put('cond/none.txt', 'x', { IfMatch: first.ETag as string })).rejects.toMatchObject({
        name: 'NoSuchKey',
        $metadata: { httpStatusCode: 404 },
      });
      await expect(
        s3.send(new HeadObjectCommand({ Bucket: 'archive', Key: 'cond/none.txt' })),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    });

    it('of writers racing for one free key with If-None-Match: *, exactly one wins and its bytes are the object', async () => {
      const bodies = Array.from({ length: 8 }, (_, i) => `writer-${i}-${'x'.repeat(64 * 1024)}`);
      const outcomes = await Promise.allSettled(
        bodies.map((b) => put('cond/race.txt', b, { IfNoneMatch: '*' })),
      );
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(o.reason).toMatchObject({ $metadata: { httpStatusCode: 412 } });
      }
      expect(await text('cond/race.txt')).toBe(bodies[won[0] as number]);
      expect(await leftovers()).toEqual([]);
    });

    it('CompleteMultipartUpload is conditional too: a multipart write onto a taken key is refused whole', async () => {
      const partSize = 5 * 1024 * 1024;
      const upload = (key: string, fill: number) =>
        new Upload({
          client: s3,
          params: {
            Bucket: 'archive',
            Key: key,
            Body: Buffer.alloc(partSize + 1024, fill),
            IfNoneMatch: '*',
          },
          partSize,
          leavePartsOnError: false,
        }).done();
      await upload('cond/big.bin', 1);
      await expect(upload('cond/big.bin', 2)).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
      const got = await s3.send(new GetObjectCommand({ Bucket: 'archive', Key: 'cond/big.bin' }));
      const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
      expect(bytes.length).toBe(partSize + 1024);
      expect(bytes.every((b) => b === 1)).toBe(true);
      expect(await leftovers()).toEqual([]);
    });
  });

  it('encodes keys like S3 notifications do', () => {
    expect(encodeEventKey('manifests/red flower+x.jsonl')).toBe('manifests/red+flower%2Bx.jsonl');
  });
});
