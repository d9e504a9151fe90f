/**
 * The copy engine's side of the integrity checks (core/integrity does the checking): a download's body wrapped in
 * its VerifyingTransform, the errors that come out of it mapped to download retries, and the rule that a body
 * which failed its source's checksum is downloaded once more, then the file fails for good.
 */
import { ErrorCode } from '../errors.js';
import { sourceMetadata } from '../integrity/file-record.js';
import { readSourceChecksums } from '../integrity/source-checksums.js';
import { IntegrityError, VerifyingTransform } from '../integrity/verifying-transform.js';
import type { DownloadResponse } from '../ports.js';
import { CopyFailure, safeMessage, TransientDownload } from './copy-failure.js';

/** Downloads whose bytes (or checksum header) failed the source's checksum before the file fails. */
export const CHECKSUM_MAX_FAILURES = 2;

export interface CheckedBody {
  verifier: VerifyingTransform;
  /** What the object is told about its source (`source-crc64`, `source-md5`). */
  metadata: Record<string, string>;
}

/**
 * The verifier for one 2xx download. A checksum header that is not one fails this GET (after `discard` drops the
 * body) as worth one more download: a header mangled on the way may come through whole the next time.
 */
export async function checkedBody(res: DownloadResponse, discard: () => Promise<void>): Promise<CheckedBody> {
  const read = readSourceChecksums(res.headers);
  if ('invalid' in read) {
    await discard();
    throw new TransientDownload(ErrorCode.SourceChecksumInvalid, `the download's ${read.invalid}`, true);
  }
  const verifier = new VerifyingTransform({
    ...(res.contentLength === undefined ? {} : { contentLength: res.contentLength }),
    checksums: read.ok,
  });
  return { verifier, metadata: sourceMetadata(read.ok) };
}

/** Throws the error a download that broke off (or failed a check) ends its attempt with. */
export function passOnDownloadError(downloadError: unknown): never {
  if (downloadError instanceof TransientDownload) throw downloadError;
  if (downloadError instanceof IntegrityError) {
    throw new TransientDownload(downloadError.code, downloadError.message, true);
  }
  throw new TransientDownload(
    ErrorCode.DownloadFailed,
    `download broke off: ${safeMessage(downloadError)}`,
    true,
  );
}

const isChecksumFailure = (code: string): boolean =>
  code === ErrorCode.IntegrityMismatch || code === ErrorCode.SourceChecksumInvalid;

/**
 * Counts a failed download against the checksum rule: a second checksum failure ends the file, not retryable (two
 * downloads disagreed with their own checksums; the report says so). Returns the new count.
 */
export function giveUpOnChecksums(err: TransientDownload, failures: number): number {
  if (!isChecksumFailure(err.code)) return failures;
  const count = failures + 1;
  if (count >= CHECKSUM_MAX_FAILURES) {
    throw new CopyFailure(
      err.code,
      `${err.message}; downloaded ${count} times, every one failed the check`,
      false,
    );
  }
  return count;
}
