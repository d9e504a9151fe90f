import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  NoSuchKey,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3ManifestSource } from '../../../functions/aws/s3-manifest-source.js';
import { AppError } from '../../../functions/core/errors.js';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'ap-east-1' });

afterEach(() => {
  s3.reset();
});

async function text(body: AsyncIterable<Uint8Array | string>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

describe('createS3ManifestSource', () => {
  it('hands the GetObject body on as a stream with the object version facts', async () => {
    s3.on(GetObjectCommand, { Bucket: 'b', Key: 'manifests/六月.csv' }).resolves({
      Body: Readable.from([
        Buffer.from('id,key\n'),
        Buffer.from('1,k\n'),
      ]) as unknown as GetObjectCommandOutput['Body'],
      ETag: '"abc"',
      VersionId: 'v1',
      ContentLength: 11,
    });
    const object = await createS3ManifestSource({ client }).open('b', 'manifests/六月.csv');
    expect(object).toMatchObject({ eTag: '"abc"', versionId: 'v1', contentLength: 11 });
    expect(await text(object.body)).toBe('id,key\n1,k\n');
  });

  it('passes the abort signal to the SDK', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: Readable.from([]) as unknown as GetObjectCommandOutput['Body'],
    });
    const controller = new AbortController();
    await createS3ManifestSource({ client }).open('b', 'manifests/a.csv', controller.signal);
    // sinon records every argument send() got; the SDK's typings only name the command.
    const args = s3.commandCalls(GetObjectCommand)[0]?.args as unknown[] | undefined;
    expect(args?.[1]).toMatchObject({ abortSignal: controller.signal });
  });

  it('says clearly, and not retryably, that a manifest does not exist', async () => {
    s3.on(GetObjectCommand).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }),
    );
    const err = await createS3ManifestSource({ client })
      .open('b', 'manifests/gone.csv')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'manifest_not_found', retryable: false, status: 400 });
    expect((err as Error).message).toBe('manifest s3://b/manifests/gone.csv does not exist');
  });

  it('reports a manifest the function may not read as bad input, not as an outage', async () => {
    s3.on(GetObjectCommand).rejects(
      new S3ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'Access Denied',
      }),
    );
    await expect(createS3ManifestSource({ client }).open('b', 'private/x.csv')).rejects.toMatchObject({
      code: 'manifest_forbidden',
      retryable: false,
    });
  });

  it('makes any other failure retryable (throttling, network)', async () => {
    s3.on(GetObjectCommand).rejects(
      new S3ServiceException({
        name: 'SlowDown',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
        message: 'Slow Down',
      }),
    );
    await expect(createS3ManifestSource({ client }).open('b', 'manifests/a.csv')).rejects.toMatchObject({
      code: 'manifest_read_failed',
      retryable: true,
      status: 503,
    });
  });
});
