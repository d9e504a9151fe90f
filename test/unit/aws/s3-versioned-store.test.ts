import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3VersionedStore } from '../../../functions/aws/s3-versioned-store.js';

const s3 = mockClient(S3Client);
const store = () => createS3VersionedStore({ client: new S3Client({ region: 'us-east-1' }), bucket: 'b' });

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

// Only transformToString is used by the adapter; the SDK's stream mixin is not a direct dependency.
const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as NonNullable<GetObjectCommandOutput['Body']>;

describe('createS3VersionedStore', () => {
  afterEach(() => s3.reset());

  it('creates the state with If-None-Match: * and returns the new ETag', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    expect(await store().putIfMatch('sync/state.json', { v: 1 }, null)).toBe('"e1"');
    const input = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ Bucket: 'b', Key: 'sync/state.json', IfNoneMatch: '*', Body: '{"v":1}' });
    expect(input.IfMatch).toBeUndefined();
  });

  it('replaces only the version it read, with If-Match: <etag>', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    expect(await store().putIfMatch('k', { v: 1 }, '"e1"')).toBe('"e2"');
    const input = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ IfMatch: '"e1"' });
    expect(input.IfNoneMatch).toBeUndefined();
  });

  it('answers undefined (lost the race) on 412 Precondition Failed and 409 ConditionalRequestConflict', async () => {
    s3.on(PutObjectCommand)
      .rejectsOnce(s3Error('PreconditionFailed', 412))
      .rejectsOnce(s3Error('ConditionalRequestConflict', 409));
    expect(await store().putIfMatch('k', {}, null)).toBeUndefined();
    expect(await store().putIfMatch('k', {}, '"e1"')).toBeUndefined();
  });

  it('answers undefined when the version it holds was deleted meanwhile', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('NoSuchKey', 404));
    expect(await store().putIfMatch('k', {}, '"e1"')).toBeUndefined();
  });

  it('wraps other write failures in a retryable error that names the object', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('InternalError', 500));
    await expect(store().putIfMatch('k', {}, null)).rejects.toMatchObject({
      code: 'state_write_failed',
      retryable: true,
      message: expect.stringContaining('s3://b/k'),
    });
  });

  it('reads the value with its ETag, and undefined for a missing object', async () => {
    s3.on(GetObjectCommand, { Key: 'k' }).resolves({ ETag: '"e3"', Body: body('{"v":1,"edge":[]}') });
    s3.on(GetObjectCommand, { Key: 'missing' }).rejects(s3Error('NoSuchKey', 404));
    expect(await store().get('k')).toEqual({ value: { v: 1, edge: [] }, etag: '"e3"' });
    expect(await store().get('missing')).toBeUndefined();
  });

  it('refuses a state object that is not JSON', async () => {
    s3.on(GetObjectCommand).resolves({ ETag: '"e"', Body: body('not json') });
    await expect(store().get('k')).rejects.toMatchObject({ code: 'sync_state_invalid' });
  });

  it('wraps read failures other than a missing object in a retryable error', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('AccessDenied', 403));
    await expect(store().get('k')).rejects.toMatchObject({ code: 'state_read_failed', retryable: true });
  });
});
