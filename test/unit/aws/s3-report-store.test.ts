import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3ReportStore } from '../../../functions/aws/s3-report-store.js';
import { AppError } from '../../../functions/core/errors.js';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'eu-west-1' });

afterEach(() => {
  s3.reset();
});

/** The one method of the SDK's stream mixin the store uses. */
function body(text: string): GetObjectCommandOutput['Body'] {
  return { transformToString: async () => text } as unknown as GetObjectCommandOutput['Body'];
}

describe('createS3ReportStore', () => {
  it('writes JSON with an application/json content type', async () => {
    s3.on(PutObjectCommand).resolves({});
    await createS3ReportStore(client, 'b').putJson('jobs/j/job.json', { a: 1 });
    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Bucket: 'b', Key: 'jobs/j/job.json', ContentType: 'application/json' });
    expect(JSON.parse(String(input?.Body))).toEqual({ a: 1 });
  });

  it('reads JSON back and answers undefined for a missing key', async () => {
    s3.on(GetObjectCommand, { Key: 'there' })
      .resolves({ Body: body('{"x":"值"}') })
      .on(GetObjectCommand, { Key: 'gone' })
      .rejects(new NoSuchKey({ message: 'nope', $metadata: { httpStatusCode: 404 } }));
    const store = createS3ReportStore(client, 'b');
    expect(await store.getJson('there')).toEqual({ x: '值' });
    expect(await store.getJson('gone')).toBeUndefined();
  });

  it('throws a retryable error when S3 fails, and a non-retryable one for broken JSON', async () => {
    s3.on(GetObjectCommand, { Key: 'err' })
      .rejects(Object.assign(new Error('slow down'), { $metadata: { httpStatusCode: 503 } }))
      .on(GetObjectCommand, { Key: 'bad' })
      .resolves({ Body: body('{') });
    const store = createS3ReportStore(client, 'b');
    const a = await store.getJson('err').catch((e: unknown) => e);
    expect(a).toBeInstanceOf(AppError);
    expect((a as AppError).retryable).toBe(true);
    const b = await store.getJson('bad').catch((e: unknown) => e);
    expect((b as AppError).code).toBe('report_invalid');
    expect((b as AppError).retryable).toBe(false);
  });

  it('lists every page of a prefix', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: 'p/1' }, { Key: 'p/2' }],
        IsTruncated: true,
        NextContinuationToken: 't1',
      })
      .resolvesOnce({ Contents: [{ Key: 'p/3' }], IsTruncated: false });
    expect(await createS3ReportStore(client, 'b').list('p/')).toEqual(['p/1', 'p/2', 'p/3']);
    const calls = s3.commandCalls(ListObjectsV2Command);
    expect(calls[1]?.args[0].input.ContinuationToken).toBe('t1');
    expect(calls[0]?.args[0].input.Prefix).toBe('p/');
  });
});

describe('createS3ReportStore({client, bucket})', () => {
  it('takes its settings as one object too', async () => {
    s3.on(PutObjectCommand).resolves({});
    await createS3ReportStore({ client, bucket: 'other' }).putJson('k', 1);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Bucket).toBe('other');
  });
});
