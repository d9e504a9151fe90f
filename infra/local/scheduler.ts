/**
 * The EventBridge schedule on a timer: `rate(N unit)` expressions (what the stack's default uses), each tick
 * delivering the Scheduled Event EventBridge sends to its Lambda target.
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { ValidationError } from '../../functions/core/errors.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './lambda-context.js';

const UNIT_MS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/**
 * Milliseconds between runs for `rate(N unit)`, or undefined for off/empty. EventBridge insists on the singular
 * unit for 1 and the plural otherwise; so does this, so an expression that works here also deploys.
 */
export function parseRateExpression(expression: string | undefined): number | undefined {
  const text = expression?.trim() ?? '';
  if (text === '' || /^(off|none|false|0)$/i.test(text)) return undefined;
  const m = /^rate\(\s*(\d+)\s+([a-z]+)\s*\)$/.exec(text);
  if (!m) {
    throw new ValidationError(
      `EKB_LOCAL_SCHEDULE must be rate(N minute|minutes|hour|hours|day|days) or off (got "${text}"); cron() runs only in AWS`,
    );
  }
  const n = Number(m[1]);
  const unit = m[2] as string;
  const unitMs = UNIT_MS[unit];
  if (unitMs === undefined || n < 1) {
    throw new ValidationError(`EKB_LOCAL_SCHEDULE: unknown unit or zero count in "${text}"`);
  }
  if ((n === 1) !== !unit.endsWith('s')) {
    throw new ValidationError(
      `EKB_LOCAL_SCHEDULE: EventBridge wants "${n === 1 ? unit.replace(/s$/, '') : `${unit}s`}" with ${n} (got "${text}")`,
    );
  }
  return n * unitMs;
}

export const LOCAL_RULE_NAME = 'ekb-archive-sync';

/** The event EventBridge hands the target for one tick. `time` is the scheduled minute, as in AWS. */
export function scheduledEvent(at: number, region: string = LOCAL_REGION): ScheduledEvent {
  const time = new Date(Math.floor(at / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    time,
    region,
    resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/${LOCAL_RULE_NAME}`],
    detail: {},
  };
}

export interface Schedule {
  /** Fires one tick now (the demo's run at start). */
  fireNow(): Promise<void>;
  stop(): void;
}

/** Calls `deliver` every `intervalMs`; a tick never starts while the previous one still runs (skipped instead). */
export function startSchedule(
  intervalMs: number | undefined,
  deliver: (event: ScheduledEvent) => Promise<void>,
): Schedule {
  let running: Promise<void> | undefined;
  const tick = (): Promise<void> => {
    if (running) return running;
    running = deliver(scheduledEvent(Date.now())).finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = intervalMs === undefined ? undefined : setInterval(() => void tick(), intervalMs);
  return {
    fireNow: tick,
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
