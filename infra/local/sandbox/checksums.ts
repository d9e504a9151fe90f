/**
 * What OSS knows about an object's bytes: CRC-64/XZ (`x-oss-hash-crc64ecma`, decimal) and, for some uploads, the
 * MD5 (`Content-MD5`, base64). The sandbox generates bodies, so it computes each the first time a body needs it,
 * in one streaming pass (CRC-64: about a second per GiB here; MD5 only when its switch is on), and keeps it; the
 * event loop keeps turning meanwhile.
 */
import { createHash } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Crc64 } from '../../../functions/core/integrity/crc64.js';
import { contentChunks, releaseChunk } from './content.js';

type Kind = 'crc64' | 'md5';

export class ChecksumCache {
  readonly #known = new Map<string, Promise<string>>();

  /** CRC-64/XZ of the body generated from `seed`, `size` bytes long, as an unsigned decimal string. */
  crc64(seed: string, size: number): Promise<string> {
    return this.#get('crc64', seed, size);
  }

  /** Base64 of the MD5 of that body, as `Content-MD5` carries it. */
  md5(seed: string, size: number): Promise<string> {
    return this.#get('md5', seed, size);
  }

  #get(kind: Kind, seed: string, size: number): Promise<string> {
    const id = `${kind}\u0000${size}\u0000${seed}`;
    let known = this.#known.get(id);
    if (!known) {
      known = compute(kind, seed, size);
      this.#known.set(id, known);
      // A failed computation must not stay cached.
      known.catch(() => this.#known.delete(id));
    }
    return known;
  }
}

async function compute(kind: Kind, seed: string, size: number): Promise<string> {
  const crc = kind === 'crc64' ? new Crc64() : undefined;
  const md5 = kind === 'md5' ? createHash('md5') : undefined;
  let sinceYield = 0;
  for (const chunk of contentChunks(seed, 0, size)) {
    crc?.update(chunk);
    md5?.update(chunk);
    sinceYield += chunk.length;
    releaseChunk(chunk);
    if (sinceYield >= 4 * 1024 * 1024) {
      sinceYield = 0;
      await yieldToLoop();
    }
  }
  return crc ? crc.digestDecimal() : (md5 as ReturnType<typeof createHash>).digest('base64');
}
