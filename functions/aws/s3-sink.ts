/**
 * The copy engine's ObjectSink over S3: HeadObject for skip-existing, `@aws-sdk/lib-storage` Upload for the body.
 * Upload streams in bounded parts (memory ≈ (queueSize + 1) × partSize per file, whatever the file size), falls back
 * to one PutObject for bodies under one part, and with `leavePartsOnError: false` aborts the multipart upload when the
 * body errors, so a short or broken download never becomes an object (nor leaves billed parts behind).
 */
import type { Readable } from 'node:stream';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { choosePartSize, DEFAULT_PART_BYTES, DEFAULT_PART_CONCURRENCY } from '../core/copy/part-size.js';
import { AbortedError } from '../core/errors.js';
import type { ObjectHead, ObjectSink, PutObjectOptions } from '../core/ports.js';
import { sdkChecksumsOn, unsignedPartsWhen, usesTls } from './payload-hash.js';

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

export function createS3Sink(options: S3SinkOptions): ObjectSink {
  const { client, bucket } = options;
  const floor = options.partSizeBytes ?? DEFAULT_PART_BYTES;
  const queueSize = options.queueSize ?? DEFAULT_PART_CONCURRENCY;
  const abortGraceMs = options.abortGraceMs ?? 5_000;
  // Parts are proven by TLS or by the per-part checksums the SDK adds when it computes them (AWS S3's default):
  // then they need no SHA-256 of their own for the signature (payload-hash.ts).
  unsignedPartsWhen(client, async () => (await usesTls(client)) || (await sdkChecksumsOn(client)));

  return {
    async head(key: string, signal?: AbortSignal): Promise<ObjectHead | undefined> {
      try {
        const out = await client.send(
          new HeadObjectCommand({ Bucket: bucket, Key: key }),
          signal ? { abortSignal: signal } : {},
        );
        return { size: out.ContentLength ?? 0, metadata: { ...out.Metadata } };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
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
        throw err;
      } finally {
        signal.removeEventListener('abort', onAbort);
        if (forced) clearTimeout(forced);
      }
      return { bytes: put.contentLength ?? bytes };
    },
  };
}
