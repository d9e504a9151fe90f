/**
 * The ManifestSource port over S3: GetObject's body handed on as a stream (the parsers read it chunk by chunk; a
 * manifest is never held whole). A missing object is a clear, non-retryable `manifest_not_found`.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AppError } from '../core/errors.js';
import type { ManifestObject, ManifestSource } from '../core/ports.js';

export interface S3ManifestSourceOptions {
  client: Pick<S3Client, 'send'>;
}

export function createS3ManifestSource(options: S3ManifestSourceOptions): ManifestSource {
  const { client } = options;
  return {
    async open(bucket, key, signal) {
      try {
        const out = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: key }),
          signal === undefined ? {} : { abortSignal: signal },
        );
        const body = out.Body as unknown as AsyncIterable<Uint8Array> | undefined;
        const object: ManifestObject = {
          body: body ?? (async function* () {})(),
        };
        if (out.ETag !== undefined) object.eTag = out.ETag;
        if (out.VersionId !== undefined) object.versionId = out.VersionId;
        if (out.ContentLength !== undefined) object.contentLength = out.ContentLength;
        return object;
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
        if (e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404) {
          throw new AppError('manifest_not_found', `manifest s3://${bucket}/${key} does not exist`, {
            status: 400,
            retryable: false,
          });
        }
        if (e?.name === 'AccessDenied' || e?.$metadata?.httpStatusCode === 403) {
          throw new AppError(
            'manifest_forbidden',
            `manifest s3://${bucket}/${key} cannot be read by this function (only the archive bucket's manifests/ is)`,
            { status: 400, retryable: false, cause: err },
          );
        }
        throw new AppError('manifest_read_failed', `could not read manifest s3://${bucket}/${key}`, {
          status: 503,
          retryable: true,
          cause: err,
        });
      }
    },
  };
}
