/**
 * The check every body passes on its way to the sink: bytes counted, and an error at the end when they differ
 * from Content-Length, so a short or overlong body fails the upload and never becomes an object.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { ErrorCode } from '../errors.js';
import { TransientDownload } from './copy-failure.js';

export class CountingTransform extends Transform {
  bytes = 0;
  constructor(private readonly expected: number | undefined) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expected !== undefined && this.bytes > this.expected) {
      cb(
        new TransientDownload(ErrorCode.Integrity, `body longer than Content-Length ${this.expected}`, true),
      );
      return;
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.expected !== undefined && this.bytes !== this.expected) {
      cb(
        new TransientDownload(
          ErrorCode.Integrity,
          `body ended after ${this.bytes} of ${this.expected} bytes (Content-Length)`,
          true,
        ),
      );
      return;
    }
    cb();
  }
}
