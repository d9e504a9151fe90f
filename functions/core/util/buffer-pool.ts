/**
 * Buffers for whole bodies, used again instead of allocated per file. A fresh multi-MiB buffer is fresh memory from
 * the kernel: the first write to each of its pages faults, which cost more than the copy itself (1.3 CPU-seconds per
 * GiB of 5 MiB files, measured in the bench's CPU profile), and every freed one is work for the garbage collector.
 *
 * A buffer goes back to the pool only when its user knows nothing reads it any more (for an upload: the store has
 * answered it). A failed or aborted upload drops its buffer instead: a socket being torn down may still hold it.
 * Bodies from `minBytes` (16 KiB) up are pooled. Below one granule (256 KiB) a body gets a buffer of the next power of
 * two, so a set of 64 KiB receipts reuses a few 64 KiB buffers: each fresh one was an ArrayBuffer of its own, freed
 * only by a full garbage collection, and 2,000 of them held 50 MiB of dead memory between collections and 13 % of the
 * CLI's CPU (`npm run bench -- --only=6 --cases=small`: 7.80 → 6.73 CPU-s, peak RSS 197 → 165 MiB). Tinier bodies
 * take a fresh buffer (Node carves small ones out of shared slabs).
 */

/** A buffer from the pool: `bytes` is the body's view, `give()` hands the memory back (once; later calls do nothing). */
export interface PooledBuffer {
  readonly bytes: Buffer;
  give(): void;
}

export interface BufferPoolOptions {
  /** Bytes kept for reuse at most (buffers given back beyond it are dropped). Default 64 MiB. */
  maxPooledBytes?: number;
  /** Bodies smaller than this get a buffer of their own. Default 16 KiB. */
  minBytes?: number;
}

/**
 * Capacities are rounded up to a multiple of this (below it, to a power of two), so bodies of nearby sizes share
 * buffers.
 */
const GRANULE = 256 * 1024;
const MIN_POOLED = 16 * 1024;

function capacityFor(length: number): number {
  if (length >= GRANULE) return Math.ceil(length / GRANULE) * GRANULE;
  let capacity = MIN_POOLED;
  while (capacity < length) capacity *= 2;
  return capacity;
}

export class BufferPool {
  readonly #free: Buffer[] = [];
  #pooledBytes = 0;
  readonly #maxPooledBytes: number;
  readonly #minBytes: number;

  constructor(options: BufferPoolOptions = {}) {
    this.#maxPooledBytes = options.maxPooledBytes ?? 64 * 1024 * 1024;
    this.#minBytes = options.minBytes ?? MIN_POOLED;
  }

  /** Bytes held for reuse right now. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  /** A buffer of exactly `length` bytes (contents undefined: the caller fills it). */
  take(length: number): PooledBuffer {
    if (length < this.#minBytes) return { bytes: Buffer.allocUnsafe(length), give: () => undefined };
    const buffer = this.#takeFree(length) ?? Buffer.allocUnsafeSlow(capacityFor(length));
    let given = false;
    return {
      bytes: buffer.subarray(0, length),
      give: () => {
        if (given) return;
        given = true;
        this.#giveBack(buffer);
      },
    };
  }

  /** The smallest free buffer that fits, taken off the free list. */
  #takeFree(length: number): Buffer | undefined {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const b = this.#free[i] as Buffer;
      if (b.length >= length && (best < 0 || b.length < (this.#free[best] as Buffer).length)) best = i;
    }
    if (best < 0) return undefined;
    const [buffer] = this.#free.splice(best, 1) as [Buffer];
    this.#pooledBytes -= buffer.length;
    return buffer;
  }

  #giveBack(buffer: Buffer): void {
    if (this.#pooledBytes + buffer.length > this.#maxPooledBytes) return;
    this.#free.push(buffer);
    this.#pooledBytes += buffer.length;
  }
}
