import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../../../functions/core/util/buffer-pool.js';

const MIB = 1024 * 1024;

describe('BufferPool', () => {
  it('hands a given-back buffer to the next body that fits, as a view of exactly its length', () => {
    const pool = new BufferPool();
    const a = pool.take(3 * MIB);
    expect(a.bytes.length).toBe(3 * MIB);
    a.give();
    expect(pool.pooledBytes).toBe(3 * MIB);
    const b = pool.take(2 * MIB);
    expect(b.bytes.buffer).toBe(a.bytes.buffer);
    expect(b.bytes.length).toBe(2 * MIB);
    expect(pool.pooledBytes).toBe(0);
  });

  it('never hands out a buffer that was not given back, nor one given back twice to two takers', () => {
    const pool = new BufferPool();
    const a = pool.take(MIB);
    const b = pool.take(MIB);
    expect(b.bytes.buffer).not.toBe(a.bytes.buffer);
    a.give();
    a.give();
    const c = pool.take(MIB);
    const d = pool.take(MIB);
    expect(c.bytes.buffer).toBe(a.bytes.buffer);
    expect(d.bytes.buffer).not.toBe(a.bytes.buffer);
  });

  it('picks the smallest free buffer that fits and allocates when none does', () => {
    const pool = new BufferPool();
    const big = pool.take(6 * MIB);
    const small = pool.take(2 * MIB);
    big.give();
    small.give();
    expect(pool.take(MIB).bytes.buffer).toBe(small.bytes.buffer);
    const other = pool.take(7 * MIB);
    expect(other.bytes.buffer).not.toBe(big.bytes.buffer);
    expect(pool.take(5 * MIB).bytes.buffer).toBe(big.bytes.buffer);
  });

  it('keeps at most maxPooledBytes and does not pool small bodies', () => {
    const pool = new BufferPool({ maxPooledBytes: 4 * MIB, minBytes: 64 * 1024 });
    const a = pool.take(3 * MIB);
    const b = pool.take(3 * MIB);
    a.give();
    b.give();
    expect(pool.pooledBytes).toBe(3 * MIB);
    const tiny = pool.take(1000);
    tiny.give();
    expect(pool.pooledBytes).toBe(3 * MIB);
    expect(tiny.bytes.length).toBe(1000);
  });

  it('pools receipt-sized bodies in power-of-two buffers, so a run of 64 KiB files reuses the same few', () => {
    const pool = new BufferPool();
    const a = pool.take(40 * 1024);
    expect(a.bytes.length).toBe(40 * 1024);
    expect(a.bytes.buffer.byteLength).toBe(64 * 1024);
    a.give();
    const b = pool.take(64 * 1024);
    expect(b.bytes.buffer).toBe(a.bytes.buffer);
    b.give();
    const seen = new Set<ArrayBufferLike>();
    for (let i = 0; i < 100; i++) {
      const held = [pool.take(64 * 1024), pool.take(64 * 1024)];
      for (const h of held) seen.add(h.bytes.buffer);
      for (const h of held) h.give();
    }
    expect(seen.size).toBe(2);
    expect(pool.take(200 * 1024).bytes.buffer.byteLength).toBe(256 * 1024);
    expect(pool.take(300 * 1024).bytes.buffer.byteLength).toBe(512 * 1024);
  });

  it('gives bodies under 16 KiB a buffer of their own', () => {
    const pool = new BufferPool();
    const a = pool.take(8 * 1024);
    a.give();
    expect(pool.pooledBytes).toBe(0);
    const b = pool.take(8 * 1024);
    // Not the same memory (Node may carve both from one shared slab, at different offsets).
    expect(b.bytes.buffer === a.bytes.buffer && b.bytes.byteOffset === a.bytes.byteOffset).toBe(false);
  });
});
