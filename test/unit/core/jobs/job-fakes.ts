/** Plain fakes of the job ports, shared by the job, fan-out and jobs-API tests. */

import { AppError, type ErrorCode } from '../../../../functions/core/errors.js';
import type { BatchMessage, BatchReport } from '../../../../functions/core/model/batch.js';
import type { CopyResult } from '../../../../functions/core/model/copy-result.js';
import type { JobRecord } from '../../../../functions/core/model/job.js';
import type { BatchQueue, ManifestSource, ReportStore } from '../../../../functions/core/ports.js';

export function memoryStore(): ReportStore & { data: Map<string, unknown>; reads: string[] } {
  const data = new Map<string, unknown>();
  const reads: string[] = [];
  return {
    data,
    reads,
    async putJson(key, value) {
      data.set(key, structuredClone(value));
    },
    async getJson<T>(key: string) {
      reads.push(key);
      return data.has(key) ? (structuredClone(data.get(key)) as T) : undefined;
    },
    async list(prefix) {
      return [...data.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
  };
}

export function recordingQueue(): BatchQueue & { messages: BatchMessage[]; calls: number } {
  const q = {
    messages: [] as BatchMessage[],
    calls: 0,
    async sendBatches(messages: BatchMessage[]) {
      q.calls += 1;
      q.messages.push(...structuredClone(messages));
    },
  };
  return q;
}

/** Manifests held as text, served in small chunks so parsers see chunk boundaries; opens are counted. */
export function memoryManifests(
  files: Record<string, string>,
  chunkBytes = 7,
): ManifestSource & { opened: string[] } {
  const opened: string[] = [];
  return {
    opened,
    async open(bucket, key) {
      opened.push(`${bucket}/${key}`);
      const text = files[`${bucket}/${key}`];
      if (text === undefined) {
        throw new AppError('manifest_not_found', `manifest s3://${bucket}/${key} does not exist`, {
          status: 400,
        });
      }
      const bytes = Buffer.from(text, 'utf8');
      return {
        body: (async function* () {
          for (let i = 0; i < bytes.length; i += chunkBytes) yield bytes.subarray(i, i + chunkBytes);
        })(),
      };
    },
  };
}

export function jobRecord(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    v: 1,
    jobId: '20250623T050017Z-abc',
    source: { kind: 'api' },
    createdAt: '2025-06-23T05:00:17.000Z',
    keyTemplate: 'attachments/{fileId}/{fileName}',
    counts: { refs: 0, batches: 0, duplicates: 0, badLines: 0 },
    badLines: [],
    batchIds: [],
    ...overrides,
  };
}

export function batchReport(
  batchId: string,
  results: CopyResult[],
  overrides: Partial<BatchReport> = {},
): BatchReport {
  return {
    v: 1,
    jobId: '20250623T050017Z-abc',
    batchId,
    attempt: 1,
    final: false,
    finishedAt: '2025-06-23T05:01:00.000Z',
    results,
    ...overrides,
  };
}

export const copied = (id: string, bytes: number): CopyResult => ({
  status: 'copied',
  id,
  key: `k-${id}`,
  objectKey: `attachments/${id}/f`,
  bytes,
  ms: 5,
  record: {
    objectKey: `attachments/${id}/f`,
    size: bytes,
    sha256: '0'.repeat(64),
    source: { verified: false },
    fileId: id,
    ekbKey: `k-${id}`,
    at: '2025-06-23T05:01:00.000Z',
  },
});
export const skipped = (id: string): CopyResult => ({
  status: 'skipped',
  id,
  key: `k-${id}`,
  objectKey: `attachments/${id}/f`,
  reason: 'exists',
});
export const failed = (
  id: string,
  retryable: boolean,
  code: ErrorCode = retryable ? 'download_http_503' : 'not_found',
): CopyResult => ({
  status: 'failed',
  id,
  key: `k-${id}`,
  code,
  retryable,
  message: `${code} for ${id}`,
});
