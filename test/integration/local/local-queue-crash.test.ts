/**
 * The durable local queue against `kill -9`: real child processes (queue-crash-child.ts) use a queue on a SQLite
 * file, die at a chosen moment, and are started again on the same file.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scenario } from './queue-crash-child.js';
import { PROJECT_ROOT } from './run-cli.js';

const CHILD = fileURLToPath(new URL('./queue-crash-child.ts', import.meta.url));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

interface LogLine {
  pid: number;
  t: number;
  ev: string;
  n?: number;
  id?: string;
  receive?: number;
  code?: string;
  message?: string;
  recovered?: { messages: number; interrupted: number };
  stats?: { waiting: number; inFlight: number; deleted: number; deadLettered: number };
  deadLetters?: Array<{ messageId: string; body: string; receiveCount: number }>;
}

function startChild(scenario: Scenario): { pid: number; exited: Promise<Exit>; release(): void } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(scenario)], {
    cwd: PROJECT_ROOT,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  // A child that does not hold never reads stdin; closing it early is harmless.
  if (!scenario.hold) child.stdin.end();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { pid: child.pid as number, exited, release: () => child.stdin.end() };
}

const runChild = (scenario: Scenario) => startChild(scenario).exited;

async function readLog(path: string): Promise<LogLine[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LogLine);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function integrity(db: string): string {
  const d = new DatabaseSync(db, { readOnly: true });
  try {
    return (d.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check;
  } finally {
    d.close();
  }
}

const ok = (n: number) => ({ n, kind: 'ok' as const });

describe('LocalQueue on a database file, across kill -9', () => {
  let dir: string;
  let caseNo = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ekb-queue-crash-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const files = () => {
    caseNo += 1;
    return { db: join(dir, `q${caseNo}`, 'queue.db'), log: join(dir, `q${caseNo}.log`) };
  };

  it('redelivers at once the message being handled when the process died, receive counted, and no deleted one', async () => {
    const { db, log } = files();
    const base = { db, log, visibilityTimeoutMs: 60_000, maxReceiveCount: 5 };

    const first = await runChild({
      ...base,
      send: [0, 1, 2, 3, 4, 5].map(ok),
      consume: true,
      workMs: 5,
      killAt: { n: 3, receive: 1 },
    });
    expect(first.signal).toBe('SIGKILL');
    const before = await readLog(log);
    expect(before.filter((l) => l.ev === 'done').map((l) => l.n)).toEqual([0, 1, 2]);
    expect(before.filter((l) => l.ev === 'deliver').map((l) => l.n)).toEqual([0, 1, 2, 3]);

    const second = await runChild({ ...base, consume: true });
    expect(second).toMatchObject({ code: 0, signal: null });
    const after = (await readLog(log)).slice(before.length);
    const open = after.find((l) => l.ev === 'open');
    expect(open?.recovered).toEqual({ messages: 3, interrupted: 1 });
    const deliveries = after.filter((l) => l.ev === 'deliver');
    expect(deliveries.map((l) => [l.n, l.receive])).toEqual([
      [3, 2],
      [4, 1],
      [5, 1],
    ]);
    // Not after its 60 s visibility timeout: the process that received it is gone, so nothing can be running.
    expect((deliveries[0] as LogLine).t - (open as LogLine).t).toBeLessThan(10_000);
    // Same message id across the restart; every message done exactly once.
    const firstDelivery = before.find((l) => l.ev === 'deliver' && l.n === 3);
    expect((deliveries[0] as LogLine).id).toBe(firstDelivery?.id);
    const done = [...before, ...after].filter((l) => l.ev === 'done').map((l) => l.n);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const summary = after.find((l) => l.ev === 'summary');
    expect(summary?.stats).toMatchObject({ waiting: 0, inFlight: 0, deleted: 3, deadLettered: 0 });
    expect(integrity(db)).toBe('ok');
  });

  it('keeps a failed message invisible until its visibility timeout ends, across a restart, then dead-letters it', async () => {
    const { db, log } = files();
    const visibilityTimeoutMs = 1_000;
    const base = { db, log, visibilityTimeoutMs, maxReceiveCount: 3 };

    const first = await runChild({
      ...base,
      send: [
        { n: 0, kind: 'fail' },
        { n: 1, kind: 'ok' },
      ],
      consume: true,
      killAt: { n: 1, receive: 1 },
    });
    expect(first.signal).toBe('SIGKILL');
    const second = await runChild({ ...base, consume: true });
    expect(second.code).toBe(0);

    const lines = await readLog(log);
    const open = lines.filter((l) => l.ev === 'open');
    expect(open[1]?.recovered).toEqual({ messages: 2, interrupted: 1 });
    const failed = lines.filter((l) => l.ev === 'failed' && l.n === 0);
    expect(failed.map((l) => l.receive)).toEqual([1, 2, 3]);
    // Each retry waits its full visibility timeout, the one that straddles the restart included.
    const deliveries = lines.filter((l) => l.ev === 'deliver' && l.n === 0);
    for (let i = 1; i < deliveries.length; i += 1) {
      const gap = (deliveries[i] as LogLine).t - (deliveries[i - 1] as LogLine).t;
      expect(gap).toBeGreaterThanOrEqual(visibilityTimeoutMs - 50);
    }
    const secondPid = open[1]?.pid;
    expect(deliveries.filter((l) => l.pid === secondPid).map((l) => l.receive)).toEqual([2, 3]);
    // Message 1, interrupted, came back at once with its receive counted.
    const redelivered = lines.find((l) => l.ev === 'deliver' && l.n === 1 && l.pid === secondPid);
    expect(redelivered?.receive).toBe(2);
    const summary = lines.find((l) => l.ev === 'summary');
    expect(summary?.deadLetters).toEqual([
      expect.objectContaining({ body: JSON.stringify({ n: 0, kind: 'fail' }), receiveCount: 3 }),
    ]);
    expect(summary?.stats).toMatchObject({ waiting: 0, inFlight: 0, deadLettered: 1 });
    expect(integrity(db)).toBe('ok');
  });

  it('sends a message that kills its consumer every time to the DLQ after maxReceiveCount receives; the rest run', async () => {
    const { db, log } = files();
    const base = { db, log, visibilityTimeoutMs: 60_000, maxReceiveCount: 2, consume: true };

    const first = await runChild({ ...base, send: [{ n: 0, kind: 'kill' }, ok(1), ok(2)] });
    const second = await runChild(base);
    const third = await runChild(base);
    expect([first.signal, second.signal, third.signal]).toEqual(['SIGKILL', 'SIGKILL', null]);
    expect(third.code).toBe(0);

    const lines = await readLog(log);
    expect(lines.filter((l) => l.ev === 'deliver' && l.n === 0).map((l) => l.receive)).toEqual([1, 2]);
    expect(lines.filter((l) => l.ev === 'queue:dead_lettered')).toHaveLength(1);
    expect(lines.filter((l) => l.ev === 'done').map((l) => l.n)).toEqual([1, 2]);
    const summary = lines.find((l) => l.ev === 'summary');
    expect(summary?.deadLetters?.map((d) => [JSON.parse(d.body).n, d.receiveCount])).toEqual([[0, 2]]);
    expect(integrity(db)).toBe('ok');
  });

  it('loses no message whose send returned when killed mid-send, and delivers each once', async () => {
    const { db, log } = files();
    const flood = startChild({ db, log, visibilityTimeoutMs: 60_000, maxReceiveCount: 5, flood: true });
    await waitFor('50 sends', async () => {
      const sent = (await readLog(log)).filter((l) => l.ev === 'sent').length;
      return sent >= 50 ? sent : undefined;
    });
    process.kill(flood.pid, 'SIGKILL');
    expect((await flood.exited).signal).toBe('SIGKILL');
    const sent = (await readLog(log)).filter((l) => l.ev === 'sent').map((l) => l.id as string);

    const drain = await runChild({ db, log, visibilityTimeoutMs: 60_000, maxReceiveCount: 5, consume: true });
    expect(drain.code).toBe(0);
    const done = (await readLog(log)).filter((l) => l.ev === 'done').map((l) => l.id as string);
    expect(new Set(done).size).toBe(done.length);
    expect(done).toEqual(expect.arrayContaining(sent));
    // At most the one send that committed before its log line was written.
    expect(done.length - sent.length).toBeLessThanOrEqual(1);
    expect(integrity(db)).toBe('ok');
  });

  it('refuses a second process on the same database with one clear line, and the first keeps its messages', async () => {
    const { db, log } = files();
    const base = { db, log, visibilityTimeoutMs: 60_000, maxReceiveCount: 5 };
    const holder = startChild({ ...base, send: [0, 1, 2].map(ok), hold: true });
    await waitFor('the holder to hold the database', async () =>
      (await readLog(log)).some((l) => l.ev === 'holding') ? true : undefined,
    );

    const intruder = await runChild({ ...base, consume: true });
    expect(intruder.code).toBe(3);
    expect(intruder.stderr.trim().split('\n')).toHaveLength(1);
    expect(intruder.stderr).toMatch(/local queue database .*queue\.db is in use by another process/);
    const refused = (await readLog(log)).find((l) => l.ev === 'open_failed');
    expect(refused?.code).toBe('local_queue_locked');

    holder.release();
    expect((await holder.exited).code).toBe(0);
    const drain = await runChild({ ...base, consume: true });
    expect(drain.code).toBe(0);
    expect(
      (await readLog(log))
        .filter((l) => l.ev === 'done')
        .map((l) => l.n)
        .sort(),
    ).toEqual([0, 1, 2]);
    expect(integrity(db)).toBe('ok');
  });

  it('lets exactly one of two processes started at the same moment have the database', async () => {
    const { db, log } = files();
    const base = { db, log, visibilityTimeoutMs: 60_000, maxReceiveCount: 5 };
    const a = startChild({ ...base, hold: true, send: Array.from({ length: 20 }, (_, i) => ok(i)) });
    const b = startChild({ ...base, hold: true, send: Array.from({ length: 20 }, (_, i) => ok(100 + i)) });
    // The loser gives up at once; the winner holds the file until released.
    const first = await Promise.race([
      a.exited.then((e) => ({ who: 'a', ...e })),
      b.exited.then((e) => ({ who: 'b', ...e })),
    ]);
    expect(first.code).toBe(3);
    a.release();
    b.release();
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect([ea.code, eb.code].sort()).toEqual([0, 3]);
    const winner = first.who === 'b' ? 0 : 100;

    const drain = await runChild({ ...base, consume: true });
    expect(drain.code).toBe(0);
    const done = (await readLog(log))
      .filter((l) => l.ev === 'done')
      .map((l) => l.n as number)
      .sort((x, y) => x - y);
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => winner + i));
    expect(integrity(db)).toBe('ok');
  });
});
