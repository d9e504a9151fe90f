import { createHash } from 'node:crypto';
import { type AddressInfo, connect, createServer } from 'node:net';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, customS3Endpoint } from '../../../functions/aws/s3-client.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';

describe('createS3Client', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3.close();
  });

  it('stores a streamed body byte for byte on an S3-compatible endpoint (no aws-chunked framing)', async () => {
    const body = Buffer.alloc(300_000, 7);
    body.write('ekb-archive', 1000);
    // Only the endpoint comes from `env` here; region and keys are the SDK's to read, so they are given directly.
    const client = createS3Client({
      env: { AWS_ENDPOINT_URL_S3: s3.endpoint },
      region: s3.env.AWS_REGION,
      credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID!, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY! },
    });
    await new Upload({
      client,
      params: {
        Bucket: s3.bucket,
        Key: 'probe/streamed.bin',
        Body: Readable.from([body.subarray(0, 1000), body.subarray(1000)]),
      },
    }).done();
    const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'probe/streamed.bin' }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(
      createHash('sha256').update(body).digest('hex'),
    );
    client.destroy();
  });

  it('sends bodies of 2 MiB and more over one kept-alive connection (no 100-continue connection per request)', async () => {
    // A TCP relay in front of s3rver counts the connections the client opens.
    let connections = 0;
    const target = new URL(s3.endpoint);
    const relay = createServer((socket) => {
      connections += 1;
      const upstream = connect(Number(target.port), target.hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const client = createS3Client({
      env: { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(relay.address() as AddressInfo).port}` },
      region: s3.env.AWS_REGION,
      credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID!, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY! },
    });
    try {
      const bodies = [1, 2, 3].map((n) => Buffer.alloc(3 * 1024 * 1024, n));
      for (const [i, body] of bodies.entries()) {
        await client.send(
          new PutObjectCommand({ Bucket: s3.bucket, Key: `probe/warm-${i}.bin`, Body: body }),
        );
      }
      expect(connections).toBe(1);
      for (const [i, body] of bodies.entries()) {
        const got = await s3.client.send(
          new GetObjectCommand({ Bucket: s3.bucket, Key: `probe/warm-${i}.bin` }),
        );
        const bytes = Buffer.from(await got.Body!.transformToByteArray());
        expect(bytes.equals(body)).toBe(true);
      }
    } finally {
      client.destroy();
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('keeps the SDK checksum defaults when no custom endpoint is configured', async () => {
    const client = createS3Client({ env: {}, region: 'eu-west-1' });
    expect(customS3Endpoint({ env: {} })).toBeUndefined();
    expect(await client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    client.destroy();
  });

  it('honours an explicit checksum setting from the environment even with a custom endpoint', async () => {
    const client = createS3Client({
      env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_SUPPORTED' },
      region: 'eu-west-1',
    });
    expect(await client.config.forcePathStyle).toBe(true);
    // Left to the SDK, which reads the variable from the real environment (unset here → its default).
    expect(await client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    client.destroy();
  });
});
