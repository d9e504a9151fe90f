import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
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
