import { describe, expect, it } from 'vitest';
import {
  batchItems,
  MAX_BATCH_REF_BYTES,
  newBatchTally,
  refBytes,
  refDedupeKey,
  refsAsItems,
} from '../../../../functions/core/attachments/batching.js';
import type { JobItem } from '../../../../functions/core/model/job.js';
import type { CopyRef, FileCopyRef } from '../../../../functions/core/model/refs.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const ref = (i: number, extra: Partial<FileCopyRef> = {}): CopyRef => ({
  id: `f${i}`,
  key: `k${i}`,
  ...extra,
});

describe('batchItems', () => {
  it('cuts 250 distinct refs into batches of 100, 100 and 50 in input order', async () => {
    const tally = newBatchTally();
    const batches = await collect(
      batchItems(refsAsItems(Array.from({ length: 250 }, (_, i) => ref(i))), tally),
    );
    expect(batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(batches.flat().map((r) => r.id)).toEqual(Array.from({ length: 250 }, (_, i) => `f${i}`));
    expect(tally).toEqual({ refs: 250, duplicates: 0, badLines: 0, bad: [] });
  });

  it('drops repeats of id+key and counts them, but keeps the same file sent to different targets', async () => {
    const items: CopyRef[] = [
      ref(1),
      ref(2),
      ref(1, { fileName: 'other name' }),
      ref(1, { targetKey: 'a/1.pdf' }),
      ref(1, { targetKey: 'a/1.pdf' }),
      ref(3, { vars: { flowId: 'x', formType: 'loan' } }),
      ref(3, { vars: { formType: 'loan', flowId: 'x' } }),
      ref(3, { vars: { flowId: 'y', formType: 'loan' } }),
    ];
    const tally = newBatchTally();
    const batches = await collect(batchItems(refsAsItems(items), tally));
    expect(batches.flat()).toEqual([items[0], items[1], items[3], items[5], items[7]]);
    expect(tally.duplicates).toBe(3);
    expect(tally.refs).toBe(5);
  });

  it('counts every bad line but keeps only the first ones', async () => {
    const items: JobItem[] = [
      ...Array.from({ length: 5 }, (_, i): JobItem => ({ bad: { line: i + 1, message: 'x' } })),
      { ok: ref(1), line: 6 },
    ];
    const tally = newBatchTally();
    const batches = await collect(batchItems(items, tally, { maxBadLines: 3 }));
    expect(batches).toEqual([[ref(1)]]);
    expect(tally.badLines).toBe(5);
    expect(tally.bad.map((b) => b.line)).toEqual([1, 2, 3]);
  });

  it('cuts a batch early when its refs would outgrow one SQS message', async () => {
    const big = (i: number) => ref(i, { key: `DP:{"fileId":"${i}","fileName":"${'名'.repeat(900)}"}` });
    const refs = Array.from({ length: 100 }, (_, i) => big(i));
    const batches = await collect(batchItems(refsAsItems(refs), newBatchTally()));
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) {
      expect(b.reduce((n, r) => n + refBytes(r), 0)).toBeLessThanOrEqual(MAX_BATCH_REF_BYTES);
    }
    expect(batches.flat()).toEqual(refs);
  });

  it('yields nothing for no items', async () => {
    expect(await collect(batchItems([], newBatchTally()))).toEqual([]);
  });
});

describe('refDedupeKey', () => {
  it('separates id and key so that shifting characters between them is a different ref', () => {
    expect(refDedupeKey({ id: 'ab', key: 'c' })).not.toBe(refDedupeKey({ id: 'a', key: 'bc' }));
    expect(refDedupeKey({ id: 'a', key: 'b' })).toBe(refDedupeKey({ id: 'a', key: 'b', fileName: 'n' }));
    expect(refDedupeKey({ id: 'a', key: 'b' })).toHaveLength(22);
  });
});
