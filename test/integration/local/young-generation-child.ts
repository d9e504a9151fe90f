/**
 * Child of young-generation.test.ts: allocates like a busy copy (many short-lived objects, enough of them still alive
 * at each scavenge for V8 to grow the young generation), yielding to the event loop between rounds as the CLI does,
 * and prints the largest young generation it saw. argv[2]: 'cap' to call capYoungGeneration() first.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import v8 from 'node:v8';
import { capYoungGeneration } from '../../../infra/local/young-generation.js';

const young = (): number =>
  v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

async function churn(): Promise<number> {
  let max = young();
  const alive: unknown[] = [];
  for (let round = 0; round < 300; round++) {
    for (let i = 0; i < 10_000; i++) alive.push({ i, text: `item ${i}`, list: [i] });
    if (alive.length > 200_000) alive.splice(0, 100_000);
    max = Math.max(max, young());
    await nextTurn();
  }
  return max;
}

if (process.argv[2] === 'cap') capYoungGeneration();
process.stdout.write(JSON.stringify({ maxYoungBytes: await churn() }));
