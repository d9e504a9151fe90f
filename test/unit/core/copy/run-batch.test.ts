import { describe, expect, it } from 'vitest';
import { runBatchMessage } from '../../../../functions/core/copy/run-batch.js';
import type { BatchMessage, BatchReport } from '../../../../functions/core/model/batch.js';
import type { CopyResult } from '../../../../functions/core/model/copy-result.js';
import { type ReportStore, silentLogger } from '../../../../functions/core/ports.js';
import {
  content,
  type FakeFile,
  FakeResolver,
  idOfUrl,
  MemorySink,
  MemoryTexts,
  ok,
  ScriptedDownloader,
} from './fakes.js';

function reportStore(): ReportStore & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    async putJson(key, value) {
      data.set(key, structuredClone(value));
    },
    async getJson<T>(key: string) {
      return data.get(key) as T | undefined;
    },
    async list(prefix) {
      return [...data.keys()].filter((k) => k.startsWith(prefix));
    },
  };
}

describe('runBatchMessage with results settled by an earlier run', () => {
  const fs: FakeFile[] = Array.from({ length: 4 }, (_, i) => ({
    id: `F${i}`,
    key: `tenant/k${i}/file${i}.pdf`,
  }));
  const message: BatchMessage = {
    v: 1,
    jobId: 'k1',
    batchId: 'b00001',
    refs: fs.map((f) => ({ id: f.id, key: f.key })),
  };

  it('copies only the unsettled refs and reports every ref, in order, the settled ones as they were', async () => {
    const resolver = new FakeResolver(fs);
    const sink = new MemorySink();
    const downloader = new ScriptedDownloader(({ url }) => ok(content(idOfUrl(url))));
    const reports = reportStore();
    const index = new MemoryTexts();
    const earlier: CopyResult = {
      status: 'copied',
      id: 'F0',
      key: fs[0]?.key as string,
      objectKey: 'attachments/F0/file0.pdf',
      bytes: 1000,
      ms: 12,
      record: {
        objectKey: 'attachments/F0/file0.pdf',
        size: 1000,
        sha256: 'a'.repeat(64),
        source: { verified: false },
        fileId: 'F0',
        ekbKey: fs[0]?.key as string,
        at: '2026-03-01T08:00:00.000Z',
      },
    };
    const gone: CopyResult = {
      status: 'failed',
      id: 'F2',
      key: fs[2]?.key as string,
      code: 'not_found',
      retryable: false,
      message: '合思 does not know this attachment (id and key)',
    };
    const out = await runBatchMessage(
      { message, attempt: 2, maxReceiveCount: 2, settled: [earlier, undefined, gone, undefined] },
      {
        resolver,
        sink,
        downloader,
        logger: silentLogger,
        reports,
        index,
        reportPrefix: 'jobs/',
        defaultKeyTemplate: 'attachments/{fileId}/{fileName}',
        concurrency: 2,
      },
    );
    // One resolve call, for the two refs left.
    expect(resolver.calls.map((c) => c.map((r) => r.id))).toEqual([['F1', 'F3']]);
    expect(downloader.calls.map((c) => idOfUrl(c.url))).toEqual(['F1', 'F3']);
    const report = reports.data.get('jobs/k1/batches/b00001.json') as BatchReport;
    expect(report.attempt).toBe(2);
    expect(report.results.map((r) => [r.id, r.status])).toEqual([
      ['F0', 'copied'],
      ['F1', 'copied'],
      ['F2', 'failed'],
      ['F3', 'copied'],
    ]);
    expect(report.results[0]).toEqual(earlier);
    expect(report.results[2]).toEqual(gone);
    // The batch's file index holds the settled copy's record as well as the two new ones.
    const indexed = (index.objects.get('jobs/k1/index/b00001.jsonl')?.text ?? '')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { fileId: string; outcome: string });
    expect(indexed.map((l) => [l.fileId, l.outcome]).sort()).toEqual([
      ['F0', 'copied'],
      ['F1', 'copied'],
      ['F3', 'copied'],
    ]);
    expect(out.summary).toMatchObject({ copied: 3, failed: 1, retryableFailed: 0, final: true });
  });
});
