import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { VerifyMessage } from '../../../functions/core/model/verify.js';
import { silentLogger } from '../../../functions/core/ports.js';
import { startVerifyRun } from '../../../functions/core/verify/verify-run.js';
import type { MetricValue } from '../../../functions/metrics.js';
import { createHandler, type VerifyHandlerDeps } from '../../../functions/verify/handler.js';
import { createLambdaContext } from '../../../infra/local/lambda-context.js';
import { MemoryTexts } from '../core/copy/fakes.js';
import { memoryStore } from '../core/jobs/job-fakes.js';
import { FakeArchive, sha256Hex } from '../core/verify/fake-archive.js';

function setup() {
  const reader = new FakeArchive();
  const sent: VerifyMessage[] = [];
  const metrics: Array<Record<string, MetricValue>> = [];
  const deps: VerifyHandlerDeps = {
    reader,
    reports: memoryStore(),
    texts: new MemoryTexts(),
    queue: { send: async (m) => void sent.push(m) },
    logger: silentLogger,
    deadlineMarginMs: 1_000,
    metrics: (m) => void metrics.push(m),
  };
  return { reader, sent, metrics, deps, handler: createHandler(deps) };
}

const event = (...bodies: string[]): SQSEvent =>
  ({ Records: bodies.map((body, i) => ({ messageId: `m${i}`, body })) }) as unknown as SQSEvent;
const context = () => createLambdaContext({ functionName: 'verify', timeoutMs: 60_000 });

describe('verify handler', () => {
  it('checks a part, counts what differs in its metrics, and drops a malformed message', async () => {
    const s = setup();
    const good = Buffer.from('kept');
    s.reader.objects.set('a/1', { body: good, metadata: { sha256: sha256Hex(good) } });
    s.reader.objects.set('a/2', { body: Buffer.from('no proof') });
    await startVerifyRun({ scope: { kind: 'prefix', prefix: 'a/' }, deep: false }, 'v1', s.deps);
    const first = JSON.stringify(s.sent.shift());
    const out = await s.handler(event(first, '{"v":1,"runId":"../x","part":1}'), context());
    expect(out).toEqual({ batchItemFailures: [] });
    expect(s.metrics).toEqual([
      { ObjectsVerified: { value: 2, unit: 'Count' }, ObjectsDiffering: { value: 1, unit: 'Count' } },
    ]);
  });

  it('hands a part back to the queue when its results cannot be written', async () => {
    const s = setup();
    s.reader.objects.set('a/1', { body: Buffer.from('x') });
    await startVerifyRun({ scope: { kind: 'prefix', prefix: 'a/' }, deep: false }, 'v2', s.deps);
    s.deps.texts.putText = async () => {
      throw new Error('SlowDown');
    };
    const out = await s.handler(event(JSON.stringify(s.sent.shift())), context());
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
  });
});
