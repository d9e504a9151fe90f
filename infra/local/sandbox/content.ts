/**
 * Deterministic file bodies for the sandbox: the AES-256-CTR keystream (key = sha256(seed), IV = 0) over zero
 * bytes. Any byte range can be produced without the bytes before it, nothing is ever held whole in memory, and
 * AES-NI makes it fast enough to stream gigabytes in seconds.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** 64 KiB: large enough for throughput, small enough that a paused client costs nothing. */
export const CONTENT_CHUNK_SIZE = 64 * 1024;

const AES_BLOCK = 16;
const ZEROS = Buffer.alloc(CONTENT_CHUNK_SIZE);

function counterBlock(blockIndex: number): Buffer {
  const iv = Buffer.alloc(AES_BLOCK);
  iv.writeBigUInt64BE(BigInt(blockIndex), 8);
  return iv;
}

/**
 * Yields the bytes [start, end) of the body for `seed`, in chunks of at most `chunkSize` bytes.
 * Each chunk is a fresh Buffer (safe to hand to a socket while the next one is made).
 */
export function* contentChunks(
  seed: string,
  start: number,
  end: number,
  chunkSize: number = CONTENT_CHUNK_SIZE,
): Generator<Buffer, void, undefined> {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`bad content range [${start}, ${end})`);
  }
  if (start === end) return;
  const size = Math.min(chunkSize, CONTENT_CHUNK_SIZE);
  const key = createHash('sha256').update(seed, 'utf8').digest();
  const cipher = createCipheriv('aes-256-ctr', key, counterBlock(Math.floor(start / AES_BLOCK)));
  // The counter starts at the block holding `start`: drop the bytes of that block before `start`.
  const skip = start % AES_BLOCK;
  if (skip > 0) cipher.update(ZEROS.subarray(0, skip));
  let position = start;
  while (position < end) {
    const n = Math.min(size, end - position);
    yield cipher.update(ZEROS.subarray(0, n));
    position += n;
  }
}

/**
 * Frees a generated chunk as soon as nobody needs it. Without this, a fast 1 GiB stream leaves ~64 MB of dead
 * chunk memory waiting for V8's external-memory GC trigger; with it, RSS stays flat. Only whole, unshared
 * ArrayBuffers (what the cipher returns) are detached.
 */
export function releaseChunk(chunk: Buffer): void {
  const ab = chunk.buffer;
  if (ab instanceof ArrayBuffer && chunk.byteOffset === 0 && ab.byteLength === chunk.length && !ab.detached) {
    try {
      ab.transfer(0);
    } catch {
      // Not detachable (e.g. a pooled buffer): the GC frees it later.
    }
  }
}

export interface ContentRange {
  /** First byte, inclusive (default 0). */
  start?: number;
  /** Last byte, exclusive (default size). */
  end?: number;
}

/** A Readable of the generated body (or a byte range of it); pull-based, so backpressure is automatic. */
export function contentStream(seed: string, size: number, range: ContentRange = {}): Readable {
  const start = range.start ?? 0;
  const end = Math.min(range.end ?? size, size);
  return Readable.from(contentChunks(seed, start, end), {
    objectMode: false,
    highWaterMark: CONTENT_CHUNK_SIZE,
  });
}

/** SHA-256 (hex) of the generated body; yields to the event loop every few MiB so a server keeps answering. */
export async function sha256OfContent(seed: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  let sinceYield = 0;
  for (const chunk of contentChunks(seed, 0, size)) {
    hash.update(chunk);
    sinceYield += chunk.length;
    if (sinceYield >= 4 * 1024 * 1024) {
      sinceYield = 0;
      await yieldToLoop();
    }
  }
  return hash.digest('hex');
}
