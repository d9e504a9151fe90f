import type { ScheduledEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatBytes, formatDuration, type Output, Reporter } from '../../../infra/local/cli/progress.js';
import { loadLocalOptions } from '../../../infra/local/local-options.js';
import { parseRateExpression, scheduledEvent, startSchedule } from '../../../infra/local/scheduler.js';

function collector(isTTY = false): Output & { text: () => string } {
  const parts: string[] = [];
  return { write: (t) => void parts.push(t), isTTY, columns: 200, text: () => parts.join('') };
}

describe('local schedule', () => {
  it('parses EventBridge rate expressions with their singular/plural rule, and off', () => {
    expect(parseRateExpression('rate(1 hour)')).toBe(3_600_000);
    expect(parseRateExpression('rate(15 minutes)')).toBe(900_000);
    expect(parseRateExpression('rate(2 days)')).toBe(172_800_000);
    expect(parseRateExpression(undefined)).toBeUndefined();
    expect(parseRateExpression('off')).toBeUndefined();
    expect(() => parseRateExpression('rate(1 hours)')).toThrow(/"hour" with 1/);
    expect(() => parseRateExpression('rate(5 minute)')).toThrow(/"minutes" with 5/);
    expect(() => parseRateExpression('cron(0 * * * ? *)')).toThrow(/cron\(\) runs only in AWS/);
  });

  it("builds EventBridge's Scheduled Event", () => {
    const e = scheduledEvent(Date.UTC(2026, 2, 6, 4, 0, 0, 123));
    expect(e).toMatchObject({
      version: '0',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-03-06T04:00:00Z',
      region: 'us-east-1',
      detail: {},
    });
    expect(e.resources[0]).toMatch(/^arn:aws:events:us-east-1:\d{12}:rule\/ekb-archive-sync$/);
  });
});

describe('local schedule timer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delivers a Scheduled Event every interval and never starts a tick while one still runs', async () => {
    vi.useFakeTimers();
    const delivered: ScheduledEvent[] = [];
    let release: () => void = () => {};
    const schedule = startSchedule(60_000, (event) => {
      delivered.push(event);
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(delivered).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000); // the first tick still runs: skipped
    expect(delivered).toHaveLength(1);
    release();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(delivered).toHaveLength(2);
    expect(delivered[1]?.['detail-type']).toBe('Scheduled Event');
    schedule.stop();
    release();
    await vi.advanceTimersByTimeAsync(180_000);
    expect(delivered).toHaveLength(2);
  });
});

describe('local stack settings', () => {
  it('reports every bad EKB_LOCAL_* key at once and refuses non-loopback hosts', () => {
    let message = '';
    try {
      loadLocalOptions({ EKB_LOCAL_API_PORT: 'x', EKB_LOCAL_HOST: '0.0.0.0', EKB_LOCAL_SCHEDULE: 'hourly' }, [
        '--bogus',
      ]);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('EKB_LOCAL_API_PORT must be an integer');
    expect(message).toContain('EKB_LOCAL_HOST must be a loopback address');
    expect(message).toContain('EKB_LOCAL_SCHEDULE must be rate(');
    expect(message).toContain('unknown argument(s): --bogus');
  });

  it('takes --once and --no-demo from the command line', () => {
    const o = loadLocalOptions({ EKB_LOCAL_API_PORT: '0' }, ['--once', '--no-demo']);
    expect(o).toMatchObject({ apiPort: 0, exitAfterDemo: true, demo: false, scheduleMs: undefined });
  });
});

describe('CLI reporter', () => {
  it('writes JSON lines of events and a final summary in json mode', () => {
    const out = collector();
    const err = collector();
    const r = new Reporter({ mode: 'json', out, err, now: () => 1000 });
    r.addRefs(2);
    r.event({ type: 'copied', id: 'a', key: 'k', objectKey: 'o', bytes: 10, ms: 1 });
    r.event({ type: 'failed', id: 'b', key: 'k2', code: 'not_found', message: 'no', retryable: false });
    r.event({ type: 'bad_line', line: 3, message: 'not valid JSON' });
    const s = r.finish({ command: 'copy', ok: false, aborted: false, exitCode: 1 });
    const lines = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['copied', 'failed', 'bad_line', 'summary']);
    expect(s.totals).toMatchObject({ refs: 2, copied: 1, failed: 1, badLines: 1, bytes: 10 });
    expect(err.text()).toBe('');
  });

  it("writes a batch's events with one write per stream, the same lines and totals as one by one", () => {
    const batch = [
      { type: 'copied', id: 'a', key: 'k', objectKey: 'o/a', bytes: 10, ms: 1 },
      { type: 'skipped', id: 'b', key: 'k2', objectKey: 'o/b', reason: 'exists' },
      { type: 'failed', id: 'c', key: 'k3', code: 'not_found', message: 'no', retryable: false },
    ] as const;
    for (const mode of ['plain', 'json'] as const) {
      const writes: string[] = [];
      const counted = { write: (t: string) => void writes.push(t) };
      const one = { out: collector(), err: collector() };
      const together = new Reporter({ mode, out: counted, err: counted, now: () => 0 });
      const oneByOne = new Reporter({ mode, ...one, now: () => 0 });
      together.events(batch);
      for (const e of batch) oneByOne.event(e);
      expect(writes).toHaveLength(1);
      expect(writes[0]).toBe(one.out.text() + one.err.text());
      expect(together.totals).toEqual(oneByOne.totals);
      expect(together.totals).toMatchObject({ copied: 1, skipped: 1, failed: 1, bytes: 10 });
    }
  });

  it('draws a bar on a TTY with files, bytes, rate and ETA, and prints failures above it', () => {
    let now = 0;
    const out = collector(true);
    const err = collector(true);
    const r = new Reporter({ mode: 'tty', out, err, now: () => now, redrawMs: 0 });
    r.addRefs(4);
    now = 2000;
    r.event({ type: 'copied', id: 'a', key: 'k', objectKey: 'o', bytes: 2048, ms: 1 });
    expect(r.barText()).toMatch(/1\/4 files {2}2\.00 KiB {2}1\.00 KiB\/s {2}ETA 00:06/);
    r.event({
      type: 'failed',
      id: 'b',
      key: 'k2',
      code: 'integrity',
      message: 'size differs',
      retryable: true,
    });
    expect(err.text()).toContain('failed   b "k2": integrity: size differs');
    expect(err.text()).toContain('\r\x1b[2K');
    r.finish({ command: 'copy', ok: false, aborted: false, exitCode: 1 });
    expect(out.text()).toMatch(
      /^copy: FAILED: 4 refs, 1 copied \(2\.00 KiB\), 0 skipped, 1 failed in 00:02\n$/,
    );
  });

  it('formats sizes and durations for people', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300.0 MiB');
    expect(formatDuration(65_000)).toBe('01:05');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
    expect(formatDuration(Number.NaN)).toBe('--:--');
  });
});
