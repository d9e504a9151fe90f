/**
 * The copy engine's ObjectSink over S3: ListObjectsV2 and HeadObject (with checksum mode) for what is already at the
 * target keys, and for the body, written with S3 conditional writes (If-None-Match: * on a free key, If-Match:
 * <etag> for an opted-in overwrite; a 412, or a 409 while a conflicting write was in progress, becomes AppError
 * `write_conflict`; a multipart upload is conditional where S3 decides it, at completion, and is aborted when that
 * fails), either
 * - one PutObject, for a body that fits in one part (its length known up front): read whole (≤ one part, the memory
 *   one part of a multipart upload takes anyway, in a pooled buffer), sent only after it ended and so passed its checks, with its SHA-256 in
 *   the metadata and, when checksums are on, as `x-amz-checksum-sha256` for S3 to verify; or
 * - a multipart upload (multipart-upload.ts): bounded parts (memory ≈ (queueSize + 1) × partSize per file, whatever
 *   the file size, in pooled buffers), each with its CRC64NVME when checksums are on, and a full-object CRC64NVME;
 *   the last part is read only after the body ended, so a body that fails its checks never completes; any failure
 *   aborts the upload before put() rejects (no partial object, no billed parts left). Afterwards the written
 *   version is tagged with its SHA-256.
 * See s3-integrity.ts for the checksums, Object Lock retention and the tag.
 */
import type { Readable } from 'node:stream';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { choosePartSize, DEFAULT_PART_BYTES, DEFAULT_PART_CONCURRENCY } from '../core/copy/part-size.js';
import { AbortedError, AppError, ErrorCode } from '../core/errors.js';
import { SHA256_METADATA } from '../core/integrity/file-record.js';
import type {
  KeyListing,
  Logger,
  ObjectSink,
  PutObjectOptions,
  PutObjectResult,
  WriteCondition,
} from '../core/ports.js';
import { BufferPool } from '../core/util/buffer-pool.js';
import { type UploadResult, uploadInParts } from './multipart-upload.js';
import { signWithKnownSha256, unsignedPartsWhen, usesTls } from './payload-hash.js';
import {
  checksumOf,
  checksumsWanted,
  headWithProof,
  hexToBase64,
  lockParams,
  MULTIPART_CHECKSUM,
  type RetentionSettings,
  tagSha256,
} from './s3-integrity.js';

export interface S3SinkOptions {
  client: S3Client;
  bucket: string;
  /** Part size floor; raised for very large files so parts stay ≤ 10,000. Default 8 MiB. */
  partSizeBytes?: number;
  /** Parts uploaded in parallel per file. Default 4. */
  queueSize?: number;
  /**
   * S3 additional checksums (SHA-256 on single PUTs, CRC64NVME on multipart uploads). Default: on when the client
   * computes checksums when supported (AWS S3), off when it does so only when required (custom endpoints such as
   * s3rver, see s3-client.ts); always on with `retention` (Object Lock requires them).
   */
  checksums?: boolean;
  /** Object Lock retention for every archived object; off by default. */
  retention?: RetentionSettings;
  /** Warnings that do not fail the copy (the SHA-256 tag not written). */
  logger?: Logger;
  now?: () => number;
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

/** A lost conditional write, said so; anything else as it came. */
function conflictOr(err: unknown, key: string, put: PutObjectOptions): unknown {
  if (!put.condition || !isWriteConflict(err)) return err;
  return new AppError(ErrorCode.WriteConflict, `another write to ${key} came first`, {
    retryable: true,
    cause: err,
  });
}

/** A body read whole: `give()` hands its buffer back to the pool once nothing reads it any more. */
interface WholeBody {
  data: Buffer;
  give(): void;
}

const noPool = (): void => undefined;

/** Reads a body of at most one part whole; rejects when it errors or the signal fires. */
async function readWhole(
  body: Readable,
  signal: AbortSignal,
  pool: BufferPool,
  length?: number,
): Promise<WholeBody> {
  const onAbort = (): void => void body.destroy(new AbortedError('upload aborted', signal.reason));
  signal.addEventListener('abort', onAbort, { once: true });
  // With the length known, each chunk is copied into one buffer (from the pool) as it arrives and dropped: a file in
  // flight holds its size once, not its chunks and then their concatenation as well.
  let whole = length !== undefined && length > 0 ? pool.take(length) : undefined;
  try {
    let filled = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of body) {
      const b = chunk as Buffer;
      if (whole && filled + b.length <= whole.bytes.length) {
        b.copy(whole.bytes, filled);
        filled += b.length;
        continue;
      }
      if (whole) {
        // More bytes than announced (the verifying transform fails such a body): keep every byte, as without a length.
        chunks.push(Buffer.from(whole.bytes.subarray(0, filled)));
        whole.give();
        whole = undefined;
      }
      chunks.push(b);
    }
    if (whole) return { data: whole.bytes.subarray(0, filled), give: whole.give };
    return { data: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), give: noPool };
  } catch (err) {
    whole?.give();
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Parts are proven by TLS or by S3's per-part checksums (on against AWS S3): then they need no SHA-256 of their own
 * for the signature, which would be a second pass over every byte (payload-hash.ts).
 */
function unsignPartsWhereProven(client: S3Client, options: S3SinkOptions): void {
  unsignedPartsWhen(
    client,
    async () =>
      (await usesTls(client)) || (await checksumsWanted(client, options.checksums, options.retention)),
  );
}

function sinkDefaults(options: S3SinkOptions) {
  return {
    floor: options.partSizeBytes ?? DEFAULT_PART_BYTES,
    queueSize: options.queueSize ?? DEFAULT_PART_CONCURRENCY,
    now: options.now ?? Date.now,
  };
}

/** One PutObject of a body read whole (≤ one part), sent once it ended and so passed its checks. */
async function putWhole(
  sink: { client: S3Client; bucket: string; options: S3SinkOptions; now: () => number; pool: BufferPool },
  key: string,
  body: Readable,
  put: PutObjectOptions,
): Promise<PutObjectResult> {
  const { client, bucket, options, now, pool } = sink;
  const { retention } = options;
  const { signal } = put;
  const whole = await readWhole(body, signal, pool, put.contentLength);
  const { data } = whole;
  // The body ended, so it passed its checks and its SHA-256 is known; the download's slot can go (ports.ts).
  put.bodyIn?.(data.length);
  const sha256 = put.sha256?.();
  const checksums = await checksumsWanted(client, options.checksums, retention);
  const command = new PutObjectCommand({
    Bucket: bucket,
    Key: key,
    Body: data,
    ContentLength: data.length,
    ContentType: put.contentType,
    ContentDisposition: put.contentDisposition,
    Metadata: sha256 ? { ...put.metadata, [SHA256_METADATA]: sha256 } : put.metadata,
    ...(checksums
      ? sha256
        ? { ChecksumSHA256: hexToBase64(sha256) }
        : { ChecksumAlgorithm: MULTIPART_CHECKSUM.ChecksumAlgorithm }
      : {}),
    ...lockParams(retention, now()),
    ...conditionParams(put.condition),
  });
  // Signed by the SHA-256 the verifying transform took of these bytes, not hashed again (payload-hash.ts).
  const out = await client
    .send(sha256 ? signWithKnownSha256(command, sha256) : command, { abortSignal: signal })
    .catch((err: unknown) => {
      throw conflictOr(err, key, put);
    });
  // Answered: the request's bytes are sent and done with (a failed one keeps its buffer out of the pool).
  whole.give();
  const checksum = checksumOf(out);
  return {
    bytes: data.length,
    ...(out.VersionId ? { versionId: out.VersionId } : {}),
    ...(checksum ? { checksum } : {}),
  };
}

export function createS3Sink(options: S3SinkOptions): ObjectSink {
  const { client, bucket, retention } = options;
  const { floor, queueSize, now } = sinkDefaults(options);
  const pool = new BufferPool();
  unsignPartsWhereProven(client, options);

  const whole = { client, bucket, options, now, pool };

  async function multipart(key: string, body: Readable, put: PutObjectOptions): Promise<PutObjectResult> {
    const { signal } = put;
    const checksums = await checksumsWanted(client, options.checksums, retention);
    let out: UploadResult;
    try {
      out = await uploadInParts(body, {
        client,
        params: {
          Bucket: bucket,
          Key: key,
          ContentType: put.contentType,
          ContentDisposition: put.contentDisposition,
          Metadata: put.metadata,
          ...(put.contentLength === undefined ? {} : { ContentLength: put.contentLength }),
          // Sent with CreateMultipartUpload, every UploadPart and CompleteMultipartUpload.
          ...(checksums ? MULTIPART_CHECKSUM : {}),
          ...(checksums && put.contentLength !== undefined ? { MpuObjectSize: put.contentLength } : {}),
          ...lockParams(retention, now()),
          // Decided at CompleteMultipartUpload (or on the one PutObject of a body within one part).
          ...conditionParams(put.condition),
        },
        partSize: choosePartSize(put.contentLength, floor),
        queueSize,
        pool,
        signal,
        logger: options.logger,
      });
    } catch (err) {
      if (signal.aborted) throw new AbortedError('upload aborted', err);
      throw conflictOr(err, key, put);
    }
    await tagWithSha256(key, out.output.VersionId, put);
    const checksum = checksumOf(out.output);
    return {
      bytes: put.contentLength ?? out.bytes,
      ...(out.output.VersionId ? { versionId: out.output.VersionId } : {}),
      ...(checksum ? { checksum } : {}),
    };
  }

  /** The object is complete and verified either way: a missing tag costs only the record a re-run rebuilds. */
  async function tagWithSha256(key: string, versionId: string | undefined, put: PutObjectOptions) {
    const sha256 = put.sha256?.();
    if (!sha256) return;
    try {
      await tagSha256(client, { bucket, key, versionId }, sha256);
    } catch (err) {
      options.logger?.warn('could not tag the object with its SHA-256 (the job index still has it)', {
        objectKey: key,
        error: err,
      });
    }
  }

  return {
    head: (key, signal) => headWithProof(client, { bucket, key }, signal, options.logger),

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

    async put(key: string, body: Readable, put: PutObjectOptions): Promise<PutObjectResult> {
      if (put.signal.aborted) {
        body.destroy();
        throw new AbortedError('upload aborted before it started', put.signal.reason);
      }
      const partSize = choosePartSize(put.contentLength, floor);
      // A body of at most one part goes as one PutObject read whole, which carries the SHA-256 known only at the end
      // in its metadata (a multipart upload gets it as a tag afterwards).
      if (put.contentLength !== undefined && put.contentLength <= partSize)
        return putWhole(whole, key, body, put);
      return multipart(key, body, put);
    },
  };
}
