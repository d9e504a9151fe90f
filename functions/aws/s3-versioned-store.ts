/**
 * The sync state's compare-and-set on real S3: PutObject with If-None-Match: * (create only) or If-Match: <etag>
 * (replace only the version we read). S3 answers 412 when the condition fails and 409 when a concurrent
 * conditional write to the same key won the race; both mean "someone else wrote first".
 * Plain s3rver ignores these headers; the local stack's embedded S3 honours them (infra/local/conditional-writes.ts).
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AppError } from '../core/errors.js';
import type { Versioned, VersionedStore } from '../core/ports.js';

export interface S3VersionedStoreOptions {
  client: Pick<S3Client, 'send'>;
  bucket: string;
}

function statusOf(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return meta?.httpStatusCode;
}

function nameOf(err: unknown): string | undefined {
  return (err as { name?: string } | null)?.name;
}

export function createS3VersionedStore(options: S3VersionedStoreOptions): VersionedStore {
  const { client, bucket } = options;
  return {
    async get<T>(key: string): Promise<Versioned<T> | undefined> {
      let text: string;
      let etag: string | undefined;
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        etag = out.ETag;
        text = out.Body ? await out.Body.transformToString('utf-8') : '';
      } catch (err) {
        if (nameOf(err) === 'NoSuchKey' || statusOf(err) === 404) return undefined;
        throw new AppError('state_read_failed', `could not read s3://${bucket}/${key}`, {
          retryable: true,
          status: 503,
          cause: err,
        });
      }
      if (!etag) {
        throw new AppError('state_read_failed', `s3://${bucket}/${key} came back without an ETag`, {
          retryable: true,
          status: 503,
        });
      }
      try {
        return { value: JSON.parse(text) as T, etag };
      } catch {
        throw new AppError('sync_state_invalid', `s3://${bucket}/${key} is not valid JSON`, {
          retryable: false,
        });
      }
    },

    async putIfMatch(key, value, etag) {
      try {
        const out = await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: JSON.stringify(value),
            ContentType: 'application/json',
            ...(etag === null ? { IfNoneMatch: '*' } : { IfMatch: etag }),
          }),
        );
        if (!out.ETag) {
          throw new AppError(
            'state_write_failed',
            `s3://${bucket}/${key}: PutObject answered without an ETag`,
            {
              retryable: true,
              status: 503,
            },
          );
        }
        return out.ETag;
      } catch (err) {
        if (err instanceof AppError) throw err;
        const status = statusOf(err);
        const name = nameOf(err);
        if (status === 412 || status === 409 || name === 'PreconditionFailed') return undefined;
        // If-Match on an object deleted meanwhile: the version we hold is gone, so we lost too.
        if (etag !== null && (status === 404 || name === 'NoSuchKey')) return undefined;
        throw new AppError('state_write_failed', `could not write s3://${bucket}/${key}`, {
          retryable: true,
          status: 503,
          cause: err,
        });
      }
    },
  };
}
