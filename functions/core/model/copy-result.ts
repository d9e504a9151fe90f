/** How each ref of a batch ended, the proof record of a file that is in the bucket, and the tally of results. */
import type { ErrorCode } from '../errors.js';

/** The checksum S3 keeps with an object (HEAD / GetObjectAttributes with checksum mode answer it, no download). */
export interface S3Checksum {
  /** CRC64NVME: full-object, multipart uploads; SHA256: single PUTs (then it is the record's sha256, base64). */
  algorithm: 'CRC64NVME' | 'SHA256' | 'CRC32';
  /** As S3 answers it: base64 (a composite checksum ends in `-<parts>`). */
  value: string;
}

/**
 * The proof of one archived file (CONTRACTS.md §2): what is in the bucket, its SHA-256, what the source's own
 * checksum said, and what S3 says. One line of the per-job file index (`jobs/<jobId>/index/<batchId>.jsonl`).
 */
export interface FileRecord {
  objectKey: string;
  /** The object version written (versioned buckets only). */
  versionId?: string;
  size: number;
  /** Hex SHA-256 of the object's bytes, computed while they streamed. */
  sha256: string;
  /**
   * The source's checksums as it sent them (`x-oss-hash-crc64ecma` decimal, `Content-MD5` base64), each checked
   * against the bytes; verified=false ⇔ the source offered nothing to check ("source not verifiable").
   */
  source: { crc64?: string; md5?: string; verified: boolean };
  s3Checksum?: S3Checksum;
  fileId?: string;
  /** The 合思 key of the file, whole. */
  ekbKey: string;
  /** When the record was made (ISO). */
  at: string;
}

export type CopyResult =
  | {
      status: 'copied';
      id: string;
      key: string;
      objectKey: string;
      bytes: number;
      ms: number;
      record: FileRecord;
    }
  | {
      status: 'skipped';
      id: string;
      key: string;
      objectKey: string;
      reason: 'exists';
      /** Rebuilt from the existing object when it carries its SHA-256 (older objects do not). */
      record?: FileRecord;
    }
  | {
      status: 'failed';
      id: string;
      key: string;
      objectKey?: string;
      /** Stable code from the catalogue (errors.ts), e.g. not_found, download_http_404, integrity, deadline. */
      code: ErrorCode;
      retryable: boolean;
      /** Safe to show: no URL query, header or token. */
      message: string;
      /** target_occupied: what holds the key instead (from its metadata and HEAD; never a URL). */
      occupant?: { source?: string; fileId?: string; size: number; lastModified?: string };
    };

export type FailedResult = Extract<CopyResult, { status: 'failed' }>;

export interface CopyTally {
  copied: number;
  skipped: number;
  failed: number;
  retryableFailed: number;
  bytes: number;
}

export function tallyResults(results: readonly CopyResult[]): CopyTally {
  const s: CopyTally = { copied: 0, skipped: 0, failed: 0, retryableFailed: 0, bytes: 0 };
  for (const r of results) {
    if (r.status === 'copied') {
      s.copied += 1;
      s.bytes += r.bytes;
    } else if (r.status === 'skipped') s.skipped += 1;
    else {
      s.failed += 1;
      if (r.retryable) s.retryableFailed += 1;
    }
  }
  return s;
}
