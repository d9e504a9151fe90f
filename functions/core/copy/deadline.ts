/**
 * A signal that fires `marginMs` before the Lambda deadline, so the copy engine stops in time to abort uploads,
 * hand unfinished refs back as retryable and still write its report.
 */
import { AppError } from '../errors.js';

export interface DeadlineSignal {
  /** Spread into the engine's input: `{ signal }`, or nothing when there is no deadline. */
  options: { signal?: AbortSignal };
  dispose(): void;
}

export function deadlineSignal(remainingMs: number | undefined, marginMs: number): DeadlineSignal {
  if (typeof remainingMs !== 'number' || !Number.isFinite(remainingMs)) return { options: {}, dispose() {} };
  const controller = new AbortController();
  const budget = Math.max(0, remainingMs - marginMs);
  const reason = (): AppError =>
    new AppError('deadline', `stopping ${marginMs} ms before the function deadline`);
  // Already inside the margin: stop before starting anything, not after the next timer tick.
  if (budget === 0) {
    controller.abort(reason());
    return { options: { signal: controller.signal }, dispose() {} };
  }
  const timer = setTimeout(() => controller.abort(reason()), budget);
  return { options: { signal: controller.signal }, dispose: () => clearTimeout(timer) };
}
