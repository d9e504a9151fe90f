/**
 * Pause points, for tests only: the crash tests (test/integration/local/) need `npm start` stopped at a precise
 * moment (fan-out has queued some of a manifest's batches but not recorded the job) to `kill -9` it there, without
 * sleeping and hoping. Armed by EKB_LOCAL_TEST_PAUSE_AT (local-options.ts): when the code reaches an armed point it
 * appends `{"point": …}` to EKB_LOCAL_TEST_PAUSE_FILE (synchronously, so the line is on disk before anything else
 * happens) and that path of the code waits forever. Unarmed, a point costs one Set lookup.
 */
import { appendFileSync } from 'node:fs';

export type PausePointName = 'batches-queued';

export interface PausePoints {
  /** Resolves at once unless `name` is armed; armed, records it and never resolves. */
  reach(name: PausePointName): Promise<void>;
}

export const NO_PAUSE_POINTS: PausePoints = { reach: () => Promise.resolve() };

export function pausePoints(armed: readonly string[], file: string | undefined): PausePoints {
  if (armed.length === 0 || file === undefined) return NO_PAUSE_POINTS;
  const points = new Set(armed);
  return {
    reach(name) {
      if (!points.has(name)) return Promise.resolve();
      appendFileSync(file, `${JSON.stringify({ point: name, pid: process.pid, at: Date.now() })}\n`);
      return new Promise<void>(() => {});
    },
  };
}
