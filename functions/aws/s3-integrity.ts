/**
 * What the S3 sink asks S3 to check and keep about each archived object, in one place:
 * - additional checksums: a single PUT is sent with `x-amz-checksum-sha256` = the SHA-256 our VerifyingTransform
 *   computed (S3 refuses the PUT when the bytes it received differ, and keeps that very SHA-256 with the object); a
 *   multipart upload asks for a full-object CRC64NVME (each part sent with its CRC64NVME, which S3 checks on
 *   arrival; S3 combines them into the whole object's CRC64NVME). A multipart SHA-256 could only be a composite
 *   (checksum of part checksums), which no one can compare with a file's SHA-256; CRC64NVME is the one algorithm
 *   S3 supports full-object for every size.
 * - Object Lock retention (mode and retain-until date) on PutObject and CreateMultipartUpload, so only archived files
 *   are locked (reports and state in the system prefixes stay writable). S3 requires a checksum header on every
 *   such request; the checksums above are it.
 * - the object's SHA-256 where metadata cannot carry it: the tag `ekb-sha256` after a multipart upload.
 */
import {
  type ChecksumAlgorithm,
  type ChecksumType,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type ObjectLockMode,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { objectSha256, SHA256_TAG } from '../core/integrity/file-record.js';
import type { S3Checksum } from '../core/model/copy-result.js';
import type { Logger, ObjectHead } from '../core/ports.js';

/** Object Lock retention for archived files (the bucket must have Object Lock enabled). */
export interface RetentionSettings {
  mode: 'GOVERNANCE' | 'COMPLIANCE';
  years: number;
}

/** Whether the sink asks for additional checksums: on against AWS (the SDK's WHEN_SUPPORTED), and always with Object Lock. */
export async function checksumsWanted(
  client: S3Client,
  setting: boolean | undefined,
  retention: RetentionSettings | undefined,
): Promise<boolean> {
  if (retention) return true;
  if (setting !== undefined) return setting;
  return (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
}

/** The retain-until date `years` calendar years after `now`. */
export function retainUntil(now: number, years: number): Date {
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}

export function lockParams(
  retention: RetentionSettings | undefined,
  now: number,
): { ObjectLockMode?: ObjectLockMode; ObjectLockRetainUntilDate?: Date } {
  if (!retention) return {};
  return { ObjectLockMode: retention.mode, ObjectLockRetainUntilDate: retainUntil(now, retention.years) };
}

/** A multipart upload's checksum request: S3 checks every part and keeps the whole object's CRC64NVME. */
export const MULTIPART_CHECKSUM: { ChecksumAlgorithm: ChecksumAlgorithm; ChecksumType: ChecksumType } = {
  ChecksumAlgorithm: 'CRC64NVME',
  ChecksumType: 'FULL_OBJECT',
};

export const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

interface ChecksumFields {
  ChecksumCRC64NVME?: string | undefined;
  ChecksumSHA256?: string | undefined;
  ChecksumCRC32?: string | undefined;
}

/** The checksum an S3 answer carries (an object has one algorithm), as the record keeps it. */
export function checksumOf(out: ChecksumFields): S3Checksum | undefined {
  if (out.ChecksumCRC64NVME) return { algorithm: 'CRC64NVME', value: out.ChecksumCRC64NVME };
  if (out.ChecksumSHA256) return { algorithm: 'SHA256', value: out.ChecksumSHA256 };
  if (out.ChecksumCRC32) return { algorithm: 'CRC32', value: out.ChecksumCRC32 };
  return undefined;
}

/** An object's HEAD (asked with checksum mode) as the core sees it. */
export function objectHeadOf(out: HeadObjectCommandOutput): ObjectHead {
  const checksum = checksumOf(out);
  return {
    size: out.ContentLength ?? 0,
    metadata: { ...out.Metadata },
    ...(out.VersionId ? { versionId: out.VersionId } : {}),
    ...(out.ETag === undefined ? {} : { etag: out.ETag }),
    ...(out.LastModified ? { lastModified: out.LastModified.toISOString() } : {}),
    ...(checksum ? { checksum } : {}),
  };
}

/** Tags the written version with its SHA-256 (multipart objects: their metadata was fixed before the bytes). */
export async function tagSha256(
  client: S3Client,
  target: { bucket: string; key: string; versionId?: string | undefined },
  sha256: string,
): Promise<void> {
  await client.send(
    new PutObjectTaggingCommand({
      Bucket: target.bucket,
      Key: target.key,
      ...(target.versionId ? { VersionId: target.versionId } : {}),
      Tagging: { TagSet: [{ Key: SHA256_TAG, Value: sha256 }] },
    }),
  );
}

/** An object's tags as a plain record. */
export async function tagsOf(
  client: S3Client,
  target: { bucket: string; key: string; versionId?: string | undefined },
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const out = await client.send(
    new GetObjectTaggingCommand({
      Bucket: target.bucket,
      Key: target.key,
      ...(target.versionId ? { VersionId: target.versionId } : {}),
    }),
    signal ? { abortSignal: signal } : {},
  );
  const tags: Record<string, string> = {};
  for (const t of out.TagSet ?? []) if (t.Key !== undefined && t.Value !== undefined) tags[t.Key] = t.Value;
  return tags;
}

/** Objects under this size were never multipart, so their SHA-256 is in the metadata or nowhere. */
const SMALLEST_MULTIPART_OBJECT = 5 * 1024 * 1024;

export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/**
 * An object's HEAD with what it proves about itself: S3's checksum (checksum mode), its version, and for a large
 * object without a `sha256` in its metadata, its tags (a multipart object carries its SHA-256 as a tag). A tag that
 * cannot be read is logged, not thrown: only a rebuilt record needs it, never the skip decision.
 */
export async function headWithProof(
  client: S3Client,
  target: { bucket: string; key: string },
  signal?: AbortSignal,
  logger?: Logger,
): Promise<ObjectHead | undefined> {
  let head: ObjectHead;
  try {
    const out = await client.send(
      new HeadObjectCommand({ Bucket: target.bucket, Key: target.key, ChecksumMode: 'ENABLED' }),
      signal ? { abortSignal: signal } : {},
    );
    head = objectHeadOf(out);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  if (objectSha256(head) === undefined && head.size >= SMALLEST_MULTIPART_OBJECT) {
    try {
      head.tags = await tagsOf(client, { ...target, versionId: head.versionId }, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      logger?.warn('could not read the tags of an existing object', { objectKey: target.key, error: err });
    }
  }
  return head;
}
