/**
 * Section 8's CPU-only case, run in a measured child: bodies streamed through the copy engine's own
 * VerifyingTransform (or a PassThrough, the no-check baseline) into a sink that drops them, no network, so the
 * time is the checks' alone. The variants switch on what the transform computes: SHA-256 always (no product switch
 * turns it off), CRC-64 when the source sent x-oss-hash-crc64ecma, MD5 when it sent Content-MD5.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { PassThrough, Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc64 } from '../../functions/core/integrity/crc64.js';
import type { SourceChecksums } from '../../functions/core/integrity/source-checksums.js';
import { VerifyingTransform } from '../../functions/core/integrity/verifying-transform.js';

export type HashVariant = 'none' | 'sha256' | 'sha256+crc64' | 'sha256+crc64+md5';

export interface HashTask {
  kind: 'hash';
  variant: HashVariant;
  /** Bodies, each `size` bytes, in `chunk`-byte chunks (undici hands bodies over in chunks of about 64 KiB). */
  files: number;
  size: number;
  chunk: number;
}

export interface HashResult {
  ms: number;
  cpuMs: number;
  bytes: number;
}

/** The checksums a source would send for `body` (computed before the clock starts). */
function sourceChecksums(variant: HashVariant, body: Buffer): SourceChecksums {
  const out: SourceChecksums = {};
  if (variant === 'sha256+crc64' || variant === 'sha256+crc64+md5') {
    const crc = new Crc64().update(body);
    out.crc64 = { text: crc.digestDecimal(), value: crc.digest() };
  }
  if (variant === 'sha256+crc64+md5') {
    const md5 = createHash('md5').update(body).digest();
    out.md5 = { text: md5.toString('base64'), value: md5 };
  }
  return out;
}

export async function runHash(task: HashTask): Promise<HashResult> {
  // One body's bytes (random, like compressed files), reused for every file: generation stays off the clock.
  const body = randomFillSync(Buffer.alloc(task.size));
  const checksums = sourceChecksums(task.variant, body);
  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; at += task.chunk) chunks.push(body.subarray(at, at + task.chunk));
  const drop = () =>
    new Writable({
      write(_chunk, _encoding, cb) {
        cb();
      },
    });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let f = 0; f < task.files; f++) {
    const check: Transform =
      task.variant === 'none'
        ? new PassThrough()
        : new VerifyingTransform({ contentLength: body.length, checksums });
    await pipeline(Readable.from(chunks), check, drop());
  }
  const ms = performance.now() - t0;
  const d = process.cpuUsage(cpu0);
  return { ms, cpuMs: (d.user + d.system) / 1000, bytes: task.files * task.size };
}
