/**
 * A process that uses a durable LocalQueue the way the local stack does, and dies by `kill -9` where a test says
 * (test/integration/local/local-queue-crash.test.ts). It appends what happens to a log file, one JSON line each,
 * written synchronously so a line the process wrote survives its death.
 *
 * Usage: node --import tsx queue-crash-child.ts '<json Scenario>'
 */
import { appendFileSync } from 'node:fs';
import type { SQSEvent } from 'aws-lambda';
import { LocalQueue } from '../../../infra/local/local-queue.js';

export interface Scenario {
  db: string;
  log: string;
  name?: string;
  visibilityTimeoutMs: number;
  maxReceiveCount: number;
  batchSize?: number;
  /** Messages to send (bodies are `{n, kind}` JSON) before consuming. */
  send?: Array<{ n: number; kind: MessageKind }>;
  /** Send one message at a time, forever, without a consumer (a test kills the process from outside). */
  flood?: boolean;
  /** Consume until the queue is idle, then print a summary and exit 0. */
  consume?: boolean;
  /** Kill this process (SIGKILL) while the consumer handles message n at this receive count. */
  killAt?: { n: number; receive: number };
  /** Keep the database open until stdin closes (the two-processes tests release it when they are done). */
  hold?: boolean;
  /** How long the consumer works on each message before its outcome. */
  workMs?: number;
}

/** ok: succeeds; fail: reported as a batch item failure; kill: kills the process whenever it is delivered. */
export type MessageKind = 'ok' | 'fail' | 'kill';

const scenario = JSON.parse(process.argv[2] as string) as Scenario;
const log = (line: Record<string, unknown>) =>
  appendFileSync(scenario.log, `${JSON.stringify({ pid: process.pid, t: Date.now(), ...line })}\n`);

const handler = async (event: SQSEvent) => {
  const failures: Array<{ itemIdentifier: string }> = [];
  for (const r of event.Records) {
    const { n, kind } = JSON.parse(r.body) as { n: number; kind: MessageKind };
    const receive = Number(r.attributes.ApproximateReceiveCount);
    log({ ev: 'deliver', n, id: r.messageId, receive });
    // Part of the work is done when the process dies: the message must come back.
    if (scenario.workMs) await new Promise((resolve) => setTimeout(resolve, scenario.workMs));
    if (kind === 'kill' || (scenario.killAt?.n === n && scenario.killAt.receive === receive)) {
      log({ ev: 'killing', n, receive });
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
    }
    if (kind === 'fail') {
      failures.push({ itemIdentifier: r.messageId });
      log({ ev: 'failed', n, id: r.messageId, receive });
    } else {
      log({ ev: 'done', n, id: r.messageId, receive });
    }
  }
  return { batchItemFailures: failures };
};

let queue: LocalQueue;
try {
  queue = new LocalQueue({
    name: scenario.name ?? 'work',
    database: scenario.db,
    visibilityTimeoutMs: scenario.visibilityTimeoutMs,
    maxReceiveCount: scenario.maxReceiveCount,
    batchSize: scenario.batchSize ?? 1,
    maxConcurrency: 1,
    paused: true,
    ...(scenario.consume ? { consumer: { functionName: 'work', timeoutMs: 10_000, handler } } : {}),
    onEvent: (e) => log({ ev: `queue:${e.kind}`, ...e }),
  });
} catch (err) {
  const e = err as Error & { code?: string };
  log({ ev: 'open_failed', code: e.code, message: e.message });
  process.stderr.write(`${e.message}\n`);
  process.exit(3);
}
log({ ev: 'open', recovered: queue.recovered });

for (const m of scenario.send ?? []) {
  const { messageId } = queue.send({ body: JSON.stringify(m) });
  log({ ev: 'sent', n: m.n, id: messageId });
}
if (scenario.flood) {
  for (let n = 0; ; n += 1) {
    const { messageId } = queue.send({ body: JSON.stringify({ n, kind: 'ok' }) });
    log({ ev: 'sent', n, id: messageId });
  }
}
if (scenario.consume) {
  queue.start();
  await queue.idle();
}
if (scenario.hold) {
  log({ ev: 'holding' });
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on('end', resolve));
}
log({ ev: 'summary', stats: queue.stats, deadLetters: queue.deadLetters() });
await queue.close();
