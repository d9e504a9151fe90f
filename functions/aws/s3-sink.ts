/**
 * The copy engine's ObjectSink over S3: ListObjectsV2 and HeadObject for what is already at the target keys,
 * `@aws-sdk/lib-storage` Upload for the body, written with S3 conditional writes (If-None-Match: * on a free key,
 * If-Match: <etag> for an opted-in overwrite). Upload hands its params to PutObject and to CompleteMultipartUpload
 * alike, so a multipart upload is conditional where S3 decides it: at completion; a 412 (someone else wrote the
 * key) or a 409 (a conflicting write was in progress) becomes AppError `write_conflict`, and lib-storage aborts the
 * upload's parts. The local stack's embedded S3 honours them too; stores without conditional writes (plain
 * s3rver) ignore the headers: see the README.
 * Upload streams in bounded parts (memory ≈ (queueSize + 1) × partSize per file, whatever the file size), falls back
 * to one PutObject for bodies under one part, and with `leavePartsOnError: false` aborts the multipart upload when the
 * body errors, so a short or broken download never becomes an object (nor leaves billed parts behind).
 */
import type { Readable } from 'node:stream';
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { choosePartSize, DEFAULT_PART_BYTES, DEFAULT_PART_CONCURRENCY } from '../core/copy/part-size.js';
import { AbortedError, AppError, ErrorCode } from '../core/errors.js';
import type { KeyListing, ObjectHead, ObjectSink, PutObjectOptions, WriteCondition } from '../core/ports.js';

export interface S3SinkOptions {
  client: S3Client;
  bucket: string;
  /** Part size floor; raised for very large files so parts stay ≤ 10,000. Default 8 MiB. */
  partSizeBytes?: number;
  /** Parts uploaded in parallel per file. Default 4. */
  queueSize?: number;
  /**
   * After the signal fires, how long to wait for lib-storage to abort the multipart upload itself (it does so once the
   * failed body reaches it) before forcing `upload.abort()`.
   */
  abortGraceMs?: number;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** 412 PreconditionFailed, or 409 ConditionalRequestConflict (another write to the key was in progress). */
function isWriteConflict(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  return (
    e?.name === 'PreconditionFailed' ||
    e?.name === 'ConditionalRequestConflict' ||
    status === 412 ||
    (status === 409 && e?.name !== 'OperationAborted')
  );
}

function conditionParams(condition: WriteCondition | undefined): { IfNoneMatch?: string; IfMatch?: string } {
  if (!condition) return {};
  return 'ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: '*' };
}

export function createS3Sink(options: S3SinkOptions): ObjectSink {
  const { client, bucket } = options;
  const floor = options.partSizeBytes ?? DEFAULT_PART_BYTES;
  const queueSize = options.queueSize ?? DEFAULT_PART_CONCURRENCY;
  const abortGraceMs = options.abortGraceMs ?? 5_000;

  return {
    async head(key: string, signal?: AbortSignal): Promise<ObjectHead | undefined> {
      try {
        const out = await client.send(
          new HeadObjectCommand({ Bucket: bucket, Key: key }),
          signal ? { abortSignal: signal } : {},
        );
        return {
          size: out.ContentLength ?? 0,
          metadata: { ...out.Metadata },
          ...(out.ETag === undefined ? {} : { etag: out.ETag }),
          ...(out.LastModified === undefined ? {} : { lastModified: out.LastModified.toISOString() }),
        };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },

    async listKeys(query, signal): Promise<KeyListing> {
      const out = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: query.prefix,
          MaxKeys: query.maxKeys,
          ...(query.startAfter === undefined ? {} : { StartAfter: query.startAfter }),
        }),
        signal ? { abortSignal: signal } : {},
      );
      const keys = (out.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
      return { keys, truncated: out.IsTruncated === true };
    },

    async put(key: string, body: Readable, put: PutObjectOptions): Promise<{ bytes: number }> {
      const { signal } = put;
      if (signal.aborted) {
        body.destroy();
        throw new AbortedError('upload aborted before it started', signal.reason);
      }
      const upload = new Upload({
        client,
        params: {
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: put.contentType,
          ContentDisposition: put.contentDisposition,
          Metadata: put.metadata,
          ...(put.contentLength === undefined ? {} : { ContentLength: put.contentLength }),
          ...conditionParams(put.condition),
        },
        partSize: choosePartSize(put.contentLength, floor),
        queueSize,
        leavePartsOnError: false,
      });
      let bytes = 0;
      upload.on('httpUploadProgress', (p) => {
        if (typeof p.loaded === 'number' && p.loaded > bytes) bytes = p.loaded;
      });
      let forced: ReturnType<typeof setTimeout> | undefined;
      // Failing the body first lets lib-storage send AbortMultipartUpload before done() rejects; upload.abort() alone
      // rejects at once and leaves that cleanup to run after we have returned (a frozen Lambda may never run it).
      const onAbort = (): void => {
        body.destroy(new AbortedError('upload aborted', signal.reason));
        forced = setTimeout(() => void upload.abort(), abortGraceMs);
        forced.unref?.();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await upload.done();
      } catch (err) {
        if (signal.aborted) throw new AbortedError('upload aborted', err);
        if (put.condition && isWriteConflict(err)) {
          throw new AppError(ErrorCode.WriteConflict, `another write to ${key} came first`, {
            retryable: true,
            cause: err,
          });
        }
        throw err;
      } finally {
        signal.removeEventListener('abort', onAbort);
        if (forced) clearTimeout(forced);
      }
      return { bytes: put.contentLength ?? bytes };
    },
  };
}
