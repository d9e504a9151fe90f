/**
 * The integrity side of OSS-style downloads: `x-oss-hash-crc64ecma` (the whole object's CRC-64, also on ranged
 * GETs, as OSS does), `Content-MD5` on whole-object answers when that switch is on, and the faults that make
 * them lie: a flipped byte with the right length, a wrong or malformed checksum header, a body that changes
 * between two GETs. Thumbnails and other processed images carry none (OSS computes them for stored objects).
 */
import { createHash } from 'node:crypto';
import type { SandboxState } from './state.js';

/** What one download answer says and serves, once the integrity faults have had their say. */
export interface IntegrityPlan {
  /** The content seed actually served (another version for changingBody). */
  seed: string;
  headers: Record<string, string>;
  /** The object offset of the byte to flip (corruptBody), if any. */
  corruptAt?: number;
}

export interface IntegrityInput {
  seed: string;
  size: number;
  /** OSS-style host (checksum headers) or not. */
  oss: boolean;
  /** The file predates OSS's CRC-64: no x-oss-hash-crc64ecma. */
  withoutCrc64?: boolean;
  /** A whole-object answer (200), not a range (206). */
  whole: boolean;
  /** GET (a body follows) or HEAD. */
  get: boolean;
}

export async function planIntegrity(state: SandboxState, input: IntegrityInput): Promise<IntegrityPlan> {
  const { faults } = state;
  let seed = input.seed;
  if (faults.take('changingBody', 'download')) {
    state.bodyVersions += 1;
    seed = `${input.seed}~v${state.bodyVersions}`;
  }
  const plan: IntegrityPlan = { seed, headers: {} };
  const corrupt = input.get ? faults.take('corruptBody', 'download') : undefined;
  if (corrupt && input.size > 0) {
    plan.corruptAt = Math.min(input.size - 1, Math.max(0, corrupt.atByte ?? Math.floor(input.size / 2)));
  }
  const wrong = faults.take('wrongChecksum', 'download');
  const malformed = faults.take('malformedChecksum', 'download');
  if (!input.oss && !wrong && !malformed) return plan;

  const { checksums, integrity } = state;
  if (input.oss && integrity.crc64 && !input.withoutCrc64) {
    plan.headers['x-oss-hash-crc64ecma'] = await checksums.crc64(seed, input.size);
  }
  if (input.oss && integrity.contentMd5 && input.whole) {
    plan.headers['content-md5'] = await checksums.md5(seed, input.size);
  }
  if (wrong) {
    if ((wrong.header ?? 'crc64') === 'crc64') {
      const truth = BigInt(await checksums.crc64(seed, input.size));
      plan.headers['x-oss-hash-crc64ecma'] = (truth ^ 1n).toString(10);
    } else {
      plan.headers['content-md5'] = createHash('md5').update(`${seed}\u0000other`).digest('base64');
    }
  }
  if (malformed) {
    const name = (malformed.header ?? 'crc64') === 'crc64' ? 'x-oss-hash-crc64ecma' : 'content-md5';
    plan.headers[name] = malformed.value ?? 'not-a-checksum';
  }
  return plan;
}

/** Passes the generated chunks of [start, end) through, with the byte at object offset `at` flipped. */
export function* flipByte(
  chunks: Iterable<Buffer>,
  start: number,
  at: number | undefined,
): Generator<Buffer, void, undefined> {
  let position = start;
  for (const chunk of chunks) {
    if (at !== undefined && at >= position && at < position + chunk.length) {
      const i = at - position;
      chunk[i] = (chunk[i] as number) ^ 0xff;
    }
    position += chunk.length;
    yield chunk;
  }
}
