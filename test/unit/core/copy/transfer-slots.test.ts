import { describe, expect, it } from 'vitest';
import { transferSlots } from '../../../../functions/core/copy/transfer-slots.js';

/** A task that records itself as running and downloading, says its body is in when told, and ends when told. */
function gatedTask(log: { downloading: Set<number>; running: Set<number> }, id: number, bytes = 1000) {
  let release: (bytes: number) => void = () => {};
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const task = async (bodyIn: (bytes: number) => void): Promise<number> => {
    release = bodyIn;
    log.downloading.add(id);
    log.running.add(id);
    await done;
    log.running.delete(id);
    log.downloading.delete(id);
    return id;
  };
  const bodyIn = (): void => {
    log.downloading.delete(id);
    release(bytes);
  };
  return { task, bodyIn, finish: () => finish() };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('transferSlots', () => {
  it('runs `downloads` files at once until one says its body is in, and then the next one starts', async () => {
    const slots = transferSlots(2, { files: 4 });
    const log = { downloading: new Set<number>(), running: new Set<number>() };
    const tasks = [0, 1, 2, 3, 4].map((i) => gatedTask(log, i));
    const runs = tasks.map((t) => slots.run(t.task));
    await tick();
    expect([...log.running]).toEqual([0, 1]);
    tasks[0]?.bodyIn();
    await tick();
    expect([...log.running]).toEqual([0, 1, 2]);
    expect([...log.downloading]).toEqual([1, 2]);
    tasks[1]?.bodyIn();
    tasks[2]?.bodyIn();
    await tick();
    // Four files in flight at most, whatever their stage: the fifth waits for one to end.
    expect([...log.running]).toEqual([0, 1, 2, 3]);
    tasks[0]?.finish();
    await tick();
    expect([...log.running]).toEqual([1, 2, 3, 4]);
    for (const t of tasks) t.finish();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
  });

  it('gives both slots back when a file ends without saying its body is in, or fails', async () => {
    const slots = transferSlots(1);
    await expect(slots.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await slots.run(async () => 'no bodyIn')).toBe('no bodyIn');
    let calls = 0;
    await slots.run(async (bodyIn) => {
      bodyIn(10);
      bodyIn(10);
      calls += 1;
    });
    // One download slot, still one: a second bodyIn() did not free a slot that was not held.
    const log = { downloading: new Set<number>(), running: new Set<number>() };
    const a = gatedTask(log, 1);
    const b = gatedTask(log, 2);
    const ra = slots.run(a.task);
    const rb = slots.run(b.task);
    await tick();
    expect([...log.running]).toEqual([1]);
    a.finish();
    b.finish();
    await Promise.all([ra, rb]);
    expect(calls).toBe(1);
  });

  it('keeps the download slot of a body that would hold more than heldBytes waiting for its upload', async () => {
    const slots = transferSlots(1, { files: 3, heldBytes: 5_000 });
    const log = { downloading: new Set<number>(), running: new Set<number>() };
    const small = gatedTask(log, 1, 4_000);
    const big = gatedTask(log, 2, 2_000);
    const next = gatedTask(log, 3, 10);
    const runs = [slots.run(small.task), slots.run(big.task), slots.run(next.task)];
    await tick();
    small.bodyIn();
    await tick();
    expect([...log.running]).toEqual([1, 2]);
    // 4,000 + 2,000 bytes would pass 5,000: the big body keeps its download slot until its file ends.
    big.bodyIn();
    await tick();
    expect([...log.running]).toEqual([1, 2]);
    small.finish();
    big.finish();
    await tick();
    expect([...log.running]).toEqual([3]);
    next.finish();
    expect(await Promise.all(runs)).toEqual([1, 2, 3]);
  });
});
