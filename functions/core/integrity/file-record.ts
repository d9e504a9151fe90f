/**
 * The proof record of an archived file (FileRecord, CONTRACTS.md §2) and what an object carries of it:
 * user metadata `source-crc64` / `source-md5` (known from the download's headers before the first byte moves) and
 * `sha256` (known only once the body ended: a single PUT sends it in its metadata; a multipart upload, whose
 * metadata is fixed by CreateMultipartUpload before any byte is read, gets it as the tag `ekb-sha256`).
 */
import type { FileRecord, S3Checksum } from '../model/copy-result.js';
import type { CopyRef } from '../model/refs.js';
import type { ObjectHead, PutObjectResult } from '../ports.js';
import type { SourceChecksums } from './source-checksums.js';
import type { BodyProof } from './verifying-transform.js';

export const SHA256_METADATA = 'sha256';
export const SOURCE_CRC64_METADATA = 'source-crc64';
export const SOURCE_MD5_METADATA = 'source-md5';
/** The tag a multipart object carries its SHA-256 in. */
export const SHA256_TAG = 'ekb-sha256';

/**
 * S3 user metadata may hold 2 KB in all (names + values): the most the integrity entries take (sha256: 6 + 64,
 * source-crc64: 12 + 20, source-md5: 10 + 24), kept free by the identity metadata's budget.
 */
export const INTEGRITY_METADATA_BYTES = 136;

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** What the object is told about its source before the upload starts. */
export function sourceMetadata(checksums: SourceChecksums): Record<string, string> {
  return {
    ...(checksums.crc64 ? { [SOURCE_CRC64_METADATA]: checksums.crc64.text } : {}),
    ...(checksums.md5 ? { [SOURCE_MD5_METADATA]: checksums.md5.text } : {}),
  };
}

export interface RecordInput {
  ref: CopyRef;
  objectKey: string;
  proof: BodyProof;
  stored: PutObjectResult;
  /** Epoch ms. */
  now: number;
}

/** The record of a file this run has just copied. */
export function copiedRecord({ ref, objectKey, proof, stored, now }: RecordInput): FileRecord {
  return {
    objectKey,
    ...(stored.versionId === undefined ? {} : { versionId: stored.versionId }),
    size: proof.size,
    sha256: proof.sha256,
    source: proof.source,
    ...(stored.checksum === undefined ? {} : { s3Checksum: stored.checksum }),
    fileId: ref.id,
    ekbKey: ref.key,
    at: new Date(now).toISOString(),
  };
}

/** The SHA-256 an existing object carries (metadata, else its tag), when it is a well-formed one. */
export function objectSha256(head: Pick<ObjectHead, 'metadata' | 'tags'>): string | undefined {
  const value = head.metadata[SHA256_METADATA] ?? head.tags?.[SHA256_TAG];
  return value !== undefined && HEX_SHA256.test(value) ? value : undefined;
}

/**
 * The record of a file found already archived, rebuilt from its HEAD; undefined for objects written before their
 * SHA-256 was kept (the skip still stands: it is decided by identity, not by this record).
 */
export function recordFromHead(
  head: ObjectHead,
  ref: CopyRef,
  objectKey: string,
  now: number,
): FileRecord | undefined {
  const sha256 = objectSha256(head);
  if (sha256 === undefined) return undefined;
  const crc64 = head.metadata[SOURCE_CRC64_METADATA];
  const md5 = head.metadata[SOURCE_MD5_METADATA];
  const checksum: S3Checksum | undefined = head.checksum;
  return {
    objectKey,
    ...(head.versionId === undefined ? {} : { versionId: head.versionId }),
    size: head.size,
    sha256,
    source: {
      ...(crc64 === undefined ? {} : { crc64 }),
      ...(md5 === undefined ? {} : { md5 }),
      verified: crc64 !== undefined || md5 !== undefined,
    },
    ...(checksum === undefined ? {} : { s3Checksum: checksum }),
    fileId: ref.id,
    ekbKey: ref.key,
    at: head.lastModified ?? new Date(now).toISOString(),
  };
}
