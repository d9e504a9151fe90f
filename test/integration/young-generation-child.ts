/**
 * Child of young-generation.test.ts: argv[2] the tuning ('cap', 'sweep' or 'none'), argv[3] the workload, yielding to
 * the event loop between rounds as a copy does:
 * - 'objects': many short-lived objects, enough of them alive at each scavenge for V8 to grow the young generation;
 *   prints the largest young generation seen;
 * - 'buffers': 64 KiB buffers dropped as soon as made, as a socket's reads are once copied into a file's buffer;
 *   prints the most memory ArrayBuffers held at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  capYoungGeneration,
  sweepYoungGeneration,
  youngGenerationBytes as young,
} from '../../functions/young-generation.js';

async function objects(): Promise<number> {
  let max = young();
  const alive: unknown[] = [];
  for (let round = 0; round < 300; round++) {
    for (let i = 0; i < 10_000; i++) alive.push({ i, text: `item ${i}`, list: [i] });
    if (alive.length > 200_000) alive.splice(0, 100_000);
    max = Math.max(max, young());
    await sleep(0);
  }
  return max;
}

async function buffers(): Promise<number> {
  let max = 0;
  let sum = 0;
  // 1.25 MiB every 10 ms, 640 MiB in all: about as fast as the bench's s3rver takes bodies.
  for (let round = 0; round < 512; round++) {
    for (let i = 0; i < 20; i++) {
      const chunk = Buffer.allocUnsafeSlow(64 * 1024);
      chunk[0] = i;
      sum += chunk[0] ?? 0;
    }
    max = Math.max(max, process.memoryUsage().arrayBuffers);
    await sleep(10);
  }
  return sum >= 0 ? max : -1;
}

const [tuning, workload] = process.argv.slice(2);
if (tuning === 'cap') capYoungGeneration();
if (tuning === 'sweep') sweepYoungGeneration();
process.stdout.write(JSON.stringify({ max: await (workload === 'buffers' ? buffers() : objects()) }));
