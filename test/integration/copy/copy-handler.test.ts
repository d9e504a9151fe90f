/**
 * The deployed copy handler's wiring end to end: depsFromConfig (real 合思 client, S3 client from the standard
 * environment, S3 sink and report store) against the sandbox and s3rver, driven by the SQS event fixture.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { compose } from '../../../functions/compose/composition.js';
import { copyHandlerDeps } from '../../../functions/compose/copy.js';
import { loadConfig } from '../../../functions/config.js';
import type { CopyHandlerDeps } from '../../../functions/copy/handler.js';
import { createHandler } from '../../../functions/copy/handler.js';
import type { BatchMessage, BatchReport } from '../../../functions/core/model/batch.js';
import { silentLogger } from '../../../functions/core/ports.js';
import type { MetricValue } from '../../../functions/metrics.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';

const fixture: SQSEvent = JSON.parse(
  readFileSync(new URL('../../fixtures/events/sqs-copy-batch.json', import.meta.url), 'utf8'),
);
const JOB = '20260306T040000Z-5f3c9a1e7b2d4c60';

let sandbox: EkuaibaoSandbox;
let s3: TestS3;
let deps: CopyHandlerDeps;
let metrics: Array<Record<string, MetricValue>>;
let prefix = 0;

const context = (remainingMs = 300_000) =>
  ({ awsRequestId: 'r', getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

beforeAll(async () => {
  [sandbox, s3] = await Promise.all([startEkuaibaoSandbox({ forms: [] }), startS3rver()]);
  // The S3 client is built from the SDK's standard environment, as in Lambda.
  for (const [k, v] of Object.entries(s3.env)) vi.stubEnv(k, v);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all([sandbox?.close(), s3?.close()]);
});

beforeEach(() => {
  sandbox.clearFaults();
  sandbox.resetStats();
  prefix += 1;
  metrics = [];
  const config = loadConfig({
    EKB_BASE_URL: sandbox.baseUrl,
    EKB_APP_KEY: sandbox.appKey,
    EKB_APP_SECURITY: sandbox.appSecurity,
    EKB_BUCKET: s3.bucket,
    EKB_OBJECT_KEY_TEMPLATE: `t${prefix}/{fileId}/{fileName}`,
    EKB_REPORT_PREFIX: `reports${prefix}/`,
    EKB_MAX_RECEIVE_COUNT: '3',
    // The sandbox serves plain-http loopback download URLs (the local stack sets the same).
    EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
  });
  // Backoff is not waited in tests; metrics are collected instead of printed.
  deps = {
    ...copyHandlerDeps(compose(config, { logger: silentLogger })),
    sleep: async () => {},
    metrics: (m) => metrics.push(m),
  };
});

function event(edit?: (e: SQSEvent) => void): SQSEvent {
  const e = structuredClone(fixture);
  edit?.(e);
  return e;
}

async function getText(key: string): Promise<string> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return (await out.Body?.transformToString('utf-8')) ?? '';
}

async function sha256Of(key: string): Promise<string> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  const h = createHash('sha256');
  for await (const chunk of out.Body as Readable) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function reportOf(batchId: string): Promise<BatchReport> {
  return JSON.parse(await getText(`reports${prefix}/${JOB}/batches/${batchId}.json`)) as BatchReport;
}

describe('copy handler against the sandbox and s3rver', () => {
  it('copies the fixture batches intact and writes their reports', async () => {
    const out = await createHandler(deps)(event(), context());
    expect(out.batchItemFailures).toEqual([]);
    for (const record of fixture.Records) {
      const message = JSON.parse(record.body) as BatchMessage;
      const report = await reportOf(message.batchId);
      expect(report).toMatchObject({ jobId: JOB, batchId: message.batchId, attempt: 1, final: true });
      for (const [i, ref] of message.refs.entries()) {
        const r = report.results[i];
        expect(r, JSON.stringify(r)).toMatchObject({ status: 'copied', id: ref.id });
        if (r?.status === 'copied') {
          expect(r.objectKey.startsWith(`t${prefix}/${ref.id}/`)).toBe(true);
          expect(await sha256Of(r.objectKey)).toBe(await sandbox.sha256(ref.id));
        }
      }
    }
    expect(metrics[0]?.FilesCopied?.value).toBe(4);
    expect(sandbox.stats.downloadUrlCalls).toBe(2);
  });

  it('returns a partial batch failure while a retryable failure remains, then finishes on redelivery', async () => {
    // Messages run one after another: the first batch's 2 files × 3 tries take all 6 faults, the second is clean.
    sandbox.inject({ kind: 'status', route: 'download', status: 502, times: 6 });
    const first = await createHandler(deps)(event(), context());
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: fixture.Records[0]?.messageId }]);
    expect((await reportOf('b00002')).final).toBe(true);
    const r1 = await reportOf('b00001');
    expect(r1.final).toBe(false);
    expect(r1.results.some((r) => r.status === 'failed' && r.retryable)).toBe(true);

    const second = await createHandler(deps)(
      event((e) => {
        e.Records.splice(1);
        if (e.Records[0]) e.Records[0].attributes.ApproximateReceiveCount = '2';
      }),
      context(),
    );
    expect(second.batchItemFailures).toEqual([]);
    const r2 = await reportOf('b00001');
    expect(r2).toMatchObject({ attempt: 2, final: true });
    expect(r2.results.every((r) => r.status === 'copied' || r.status === 'skipped')).toBe(true);
  });

  it('on the last receive marks the report final and lets the message go', async () => {
    sandbox.inject({ kind: 'status', route: 'download', status: 503, times: 100 });
    const out = await createHandler(deps)(
      event((e) => {
        for (const r of e.Records) r.attributes.ApproximateReceiveCount = '3';
      }),
      context(),
    );
    expect(out.batchItemFailures).toEqual([]);
    const report = await reportOf('b00001');
    expect(report).toMatchObject({ attempt: 3, final: true });
    expect(report.results.every((r) => r.status === 'failed' && r.code === 'download_http_503')).toBe(true);
  });

  it('drops a malformed message without failing it and still copies the rest', async () => {
    const out = await createHandler(deps)(
      event((e) => {
        if (e.Records[1]) e.Records[1].body = 'not json at all';
      }),
      context(),
    );
    expect(out.batchItemFailures).toEqual([]);
    expect((await reportOf('b00001')).final).toBe(true);
    await expect(reportOf('b00002')).rejects.toMatchObject({ name: 'NoSuchKey' });
    expect(metrics[0]?.MalformedMessages?.value).toBe(1);
  });
});
