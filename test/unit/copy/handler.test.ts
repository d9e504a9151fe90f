import { readFileSync } from 'node:fs';
import type { Context, SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { CopyHandlerDeps } from '../../../functions/copy/handler.js';
import { createHandler } from '../../../functions/copy/handler.js';
import type { BatchMessage, BatchReport } from '../../../functions/core/model/batch.js';
import type { LogFields, Logger, ReportStore } from '../../../functions/core/ports.js';
import type { MetricValue } from '../../../functions/metrics.js';
import {
  content,
  type FakeFile,
  FakeResolver,
  idOfUrl,
  MemorySink,
  MemoryTexts,
  ok,
  ScriptedDownloader,
  status,
} from '../core/copy/fakes.js';

const fixture: SQSEvent = JSON.parse(
  readFileSync(new URL('../../fixtures/events/sqs-copy-batch.json', import.meta.url), 'utf8'),
);
const JOB = '20260306T040000Z-5f3c9a1e7b2d4c60';

function event(edit?: (e: SQSEvent) => void): SQSEvent {
  const e = structuredClone(fixture);
  edit?.(e);
  return e;
}

function context(remainingMs = 600_000): Context {
  return {
    awsRequestId: 'req-1',
    functionName: 'ekb-archive-copy',
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Context;
}

class MemoryReports implements ReportStore {
  readonly objects = new Map<string, unknown>();
  failWith: Error | undefined;
  async putJson(key: string, value: unknown): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.objects.set(key, structuredClone(value));
  }
  async getJson<T>(key: string): Promise<T | undefined> {
    return this.objects.get(key) as T | undefined;
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix));
  }
}

function capturingLogger(
  lines: Array<{ level: string; message: string; fields: LogFields }>,
  base: LogFields = {},
): Logger {
  const at =
    (level: string) =>
    (message: string, fields: LogFields = {}) =>
      lines.push({ level, message, fields: { ...base, ...fields } });
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (f) => capturingLogger(lines, { ...base, ...f }),
  };
}

function filesOf(e: SQSEvent): FakeFile[] {
  return e.Records.flatMap((r) => {
    try {
      return (JSON.parse(r.body) as BatchMessage).refs.map((x) => ({ id: x.id, key: x.key }));
    } catch {
      return [];
    }
  });
}

function setup(e: SQSEvent, script?: ConstructorParameters<typeof ScriptedDownloader>[0]) {
  const reports = new MemoryReports();
  const sink = new MemorySink();
  const metrics: Array<Record<string, MetricValue>> = [];
  const logs: Array<{ level: string; message: string; fields: LogFields }> = [];
  const deps: CopyHandlerDeps = {
    resolver: new FakeResolver(filesOf(e)),
    sink,
    downloader: new ScriptedDownloader(script ?? (({ url }) => ok(content(idOfUrl(url))))),
    reports,
    index: new MemoryTexts(),
    logger: capturingLogger(logs),
    sleep: async () => {},
    reportPrefix: 'jobs/',
    defaultKeyTemplate: 'attachments/{fileId}/{fileName}',
    concurrency: 4,
    maxReceiveCount: 5,
    deadlineMarginMs: 20_000,
    metrics: (m) => metrics.push(m),
  };
  return { deps, reports, sink, metrics, logs };
}

const report = (reports: MemoryReports, batchId: string) =>
  reports.objects.get(`jobs/${JOB}/batches/${batchId}.json`) as BatchReport | undefined;

describe('copy handler', () => {
  it('copies every batch of the SQS event, writes one report per batch and fails no message', async () => {
    const e = event();
    const { deps, reports, sink, metrics, logs } = setup(e);
    const out = await createHandler(deps)(e, context());
    expect(out).toEqual({ batchItemFailures: [] });
    for (const batchId of ['b00001', 'b00002']) {
      const r = report(reports, batchId);
      expect(r).toMatchObject({ v: 1, jobId: JOB, batchId, attempt: 1, final: true });
      expect(r?.results.map((x) => x.status)).toEqual(['copied', 'copied']);
    }
    expect(sink.objects.has('attachments/8Jr3nAdW1tZl00/酒店 发票 2026-03.pdf')).toBe(true);
    expect(sink.objects.has('attachments/136634573449/128163bbba83.jpg')).toBe(true);
    expect(metrics).toEqual([
      {
        FilesCopied: { value: 4, unit: 'Count' },
        FilesSkipped: { value: 0, unit: 'Count' },
        FilesFailed: { value: 0, unit: 'Count' },
        BytesCopied: { value: 4000, unit: 'Bytes' },
        ReResolves: { value: 0, unit: 'Count' },
        MalformedMessages: { value: 0, unit: 'Count' },
      },
    ]);
    const summaries = logs.filter((l) => l.message === 'copy batch');
    expect(summaries.map((l) => l.fields)).toEqual([
      expect.objectContaining({
        jobId: JOB,
        batchId: 'b00001',
        copied: 2,
        skipped: 0,
        failed: 0,
        bytes: 2000,
      }),
      expect.objectContaining({
        jobId: JOB,
        batchId: 'b00002',
        copied: 2,
        skipped: 0,
        failed: 0,
        bytes: 2000,
      }),
    ]);
    expect(summaries[0]?.fields.messageId).toBe(e.Records[0]?.messageId);
  });

  it('hands back only the message with a retryable failure left (partial batch response)', async () => {
    const e = event();
    const { deps, reports } = setup(e, ({ url }) =>
      idOfUrl(url) === '9Ks4oBeX2uAm00' ? status(503) : ok(content(idOfUrl(url))),
    );
    const out = await createHandler(deps)(e, context());
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: e.Records[1]?.messageId }]);
    expect(report(reports, 'b00001')?.final).toBe(true);
    const r2 = report(reports, 'b00002');
    expect(r2?.final).toBe(false);
    expect(r2?.results[1]).toMatchObject({ status: 'failed', code: 'download_http_503', retryable: true });
  });

  it('on the last receive writes a final report and does not fail the message', async () => {
    const e = event((ev) => {
      for (const r of ev.Records) r.attributes.ApproximateReceiveCount = '5';
    });
    const { deps, reports } = setup(e, ({ url }) =>
      idOfUrl(url) === '9Ks4oBeX2uAm00' ? status(503) : ok(content(idOfUrl(url))),
    );
    const out = await createHandler(deps)(e, context());
    expect(out.batchItemFailures).toEqual([]);
    expect(report(reports, 'b00002')).toMatchObject({ attempt: 5, final: true });
  });

  it('treats permanent failures as final without handing the message back', async () => {
    const e = event();
    const { deps, reports } = setup(e, ({ url }) =>
      idOfUrl(url) === '61sbwX3DEAgk00' ? status(404) : ok(content(idOfUrl(url))),
    );
    const out = await createHandler(deps)(e, context());
    expect(out.batchItemFailures).toEqual([]);
    expect(report(reports, 'b00001')?.results[0]).toMatchObject({
      code: 'download_http_404',
      retryable: false,
    });
  });

  it('logs and counts a malformed message without failing it, and still runs the others', async () => {
    const e = event((ev) => {
      const first = ev.Records[0];
      if (first) first.body = '{"v":1,"jobId":"../x","batchId":"b1","refs":[]}';
    });
    const { deps, reports, metrics, logs } = setup(e);
    const out = await createHandler(deps)(e, context());
    expect(out.batchItemFailures).toEqual([]);
    expect(report(reports, 'b00002')?.results.every((r) => r.status === 'copied')).toBe(true);
    expect(reports.objects.size).toBe(1);
    const err = logs.find((l) => l.level === 'error');
    expect(err?.fields.messageId).toBe(e.Records[0]?.messageId);
    expect(metrics[0]?.MalformedMessages?.value).toBe(1);
  });

  it('hands a message back when its report cannot be written', async () => {
    const e = event();
    const { deps, reports } = setup(e);
    reports.failWith = new Error('SlowDown');
    const out = await createHandler(deps)(e, context());
    expect(out.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(e.Records.map((r) => r.messageId));
  });

  it('stops at the deadline margin: unfinished refs are deadline failures and the messages come back', async () => {
    const e = event();
    const { deps, reports } = setup(e);
    const out = await createHandler(deps)(e, context(10_000));
    expect(out.batchItemFailures).toHaveLength(2);
    const r = report(reports, 'b00001');
    expect(r?.final).toBe(false);
    expect(r?.results.every((x) => x.status === 'failed' && x.code === 'deadline')).toBe(true);
  });

  it('skips already archived files when a message is delivered again', async () => {
    const e = event();
    const { deps, reports, metrics } = setup(e);
    const handler = createHandler(deps);
    await handler(e, context());
    const again = await handler(
      event((ev) => {
        for (const r of ev.Records) r.attributes.ApproximateReceiveCount = '2';
      }),
      context(),
    );
    expect(again.batchItemFailures).toEqual([]);
    expect(report(reports, 'b00001')).toMatchObject({ attempt: 2, final: true });
    expect(metrics[1]?.FilesSkipped?.value).toBe(4);
  });

  it('rejects the whole delivery when its dependencies cannot be built (bad config)', async () => {
    const handler = createHandler(() => {
      throw new Error('EKB_BUCKET is required');
    });
    await expect(handler(event(), context())).rejects.toThrow('EKB_BUCKET');
  });
});
