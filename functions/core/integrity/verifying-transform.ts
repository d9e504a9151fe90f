/**
 * The check every downloaded body passes on its way to the bucket, in one pass over each chunk:
 * - the length against Content-Length (short, broken or overlong bodies: code `integrity`);
 * - SHA-256 of every body (the proof recorded with the object);
 * - CRC-64/XZ when the source sent `x-oss-hash-crc64ecma`, MD5 when it sent `Content-MD5`, each compared with
 *   what the source said at the end (a mismatch: code `integrity_mismatch`).
 *
 * A failed check fails the stream in `_flush`, and the last chunk is held back until the checks pass, so whatever
 * reads this stream never sees the whole body of a bad download: a multipart upload never gets its last part (and
 * is aborted), a single PUT is never sent (the sink sends one only after its body ended), and
 * even a streaming PUT of known length could not complete with bad bytes.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AppError, ErrorCode } from '../errors.js';
import { Crc64 } from './crc64.js';
import { CRC64_HEADER, MD5_HEADER, type SourceChecksums } from './source-checksums.js';

/** A body that failed a check: worth downloading again (the copy engine decides how often). */
export class IntegrityError extends AppError {
  constructor(code: typeof ErrorCode.Integrity | typeof ErrorCode.IntegrityMismatch, message: string) {
    super(code, message, { retryable: true });
  }
}

/** What a body that passed every check proved about itself. */
export interface BodyProof {
  size: number;
  /** Hex. */
  sha256: string;
  /** The source's checksums as sent, each matched; verified=false when the source sent none. */
  source: { crc64?: string; md5?: string; verified: boolean };
}

export interface VerifyingTransformOptions {
  /** Content-Length, when the source sent one. */
  contentLength?: number;
  checksums: SourceChecksums;
}

export class VerifyingTransform extends Transform {
  readonly #expected: number | undefined;
  readonly #checksums: SourceChecksums;
  readonly #sha256 = createHash('sha256');
  readonly #crc64: Crc64 | undefined;
  readonly #md5: Hash | undefined;
  #held: Buffer | undefined;
  #bytes = 0;
  #proof: BodyProof | undefined;

  constructor(options: VerifyingTransformOptions) {
    super();
    this.#expected = options.contentLength;
    this.#checksums = options.checksums;
    this.#crc64 = options.checksums.crc64 ? new Crc64() : undefined;
    this.#md5 = options.checksums.md5 ? createHash('md5') : undefined;
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The proof, once the body ended and passed; undefined before that (or after a failed check). */
  get proof(): BodyProof | undefined {
    return this.#proof;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#bytes += chunk.length;
    if (this.#expected !== undefined && this.#bytes > this.#expected) {
      callback(new IntegrityError(ErrorCode.Integrity, `body longer than Content-Length ${this.#expected}`));
      return;
    }
    this.#sha256.update(chunk);
    this.#crc64?.update(chunk);
    this.#md5?.update(chunk);
    // One chunk stays behind until the checks pass (see the module comment).
    if (this.#held !== undefined) this.push(this.#held);
    this.#held = chunk;
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const problem = this.#problem();
    if (problem !== undefined) {
      this.#held = undefined;
      callback(problem);
      return;
    }
    const { crc64, md5 } = this.#checksums;
    this.#proof = {
      size: this.#bytes,
      sha256: this.#sha256.digest('hex'),
      source: {
        ...(crc64 ? { crc64: crc64.text } : {}),
        ...(md5 ? { md5: md5.text } : {}),
        verified: crc64 !== undefined || md5 !== undefined,
      },
    };
    if (this.#held !== undefined) this.push(this.#held);
    this.#held = undefined;
    callback();
  }

  #problem(): IntegrityError | undefined {
    if (this.#expected !== undefined && this.#bytes !== this.#expected) {
      return new IntegrityError(
        ErrorCode.Integrity,
        `body ended after ${this.#bytes} of ${this.#expected} bytes (Content-Length)`,
      );
    }
    const { crc64, md5 } = this.#checksums;
    if (crc64 && this.#crc64) {
      const actual = this.#crc64.digest();
      if (actual !== crc64.value) {
        return new IntegrityError(
          ErrorCode.IntegrityMismatch,
          `body does not match ${CRC64_HEADER}: the source says ${crc64.text}, the ${this.#bytes} bytes received give ${actual}`,
        );
      }
    }
    if (md5 && this.#md5) {
      const actual = this.#md5.digest();
      if (!actual.equals(md5.value)) {
        return new IntegrityError(
          ErrorCode.IntegrityMismatch,
          `body does not match ${MD5_HEADER}: the source says ${md5.text}, the ${this.#bytes} bytes received give ${actual.toString('base64')}`,
        );
      }
    }
    return undefined;
  }
}
