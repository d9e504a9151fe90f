import { describe, expect, it } from 'vitest';
import {
  csvHeader,
  csvRow,
  type IndexLine,
  indexLines,
  parseIndex,
  readJobIndex,
  writeBatchIndex,
} from '../../../../functions/core/jobs/file-index.js';
import type { CopyResult, FileRecord } from '../../../../functions/core/model/copy-result.js';
import { MemoryTexts } from '../copy/fakes.js';

function record(id: string, overrides: Partial<FileRecord> = {}): FileRecord {
  return {
    objectKey: `attachments/${id}/f.pdf`,
    size: 10,
    sha256: id
      .padEnd(64, '0')
      .toLowerCase()
      .replace(/[^0-9a-f]/g, 'a'),
    source: { crc64: '123', verified: true },
    fileId: id,
    ekbKey: `k-${id}`,
    at: '2026-03-01T00:00:00.000Z',
    ...overrides,
  };
}

const copied = (id: string, r = record(id)): CopyResult => ({
  status: 'copied',
  id,
  key: `k-${id}`,
  objectKey: r.objectKey,
  bytes: r.size,
  ms: 1,
  record: r,
});
const skipped = (id: string, r?: FileRecord): CopyResult => ({
  status: 'skipped',
  id,
  key: `k-${id}`,
  objectKey: `attachments/${id}/f.pdf`,
  reason: 'exists',
  ...(r ? { record: r } : {}),
});
const failed = (id: string): CopyResult => ({
  status: 'failed',
  id,
  key: `k-${id}`,
  code: 'integrity_mismatch',
  retryable: false,
  message: 'x',
});

describe('the file index', () => {
  it('has a line per copied file and per skipped file with a record, none for failures', () => {
    const lines = indexLines([copied('A'), skipped('B'), skipped('C', record('C')), failed('D')]);
    expect(lines.map((l) => [l.fileId, l.outcome])).toEqual([
      ['A', 'copied'],
      ['C', 'skipped'],
    ]);
  });

  it('writes one JSON line per file under jobs/<jobId>/index/<batchId>.jsonl', async () => {
    const store = new MemoryTexts();
    const key = await writeBatchIndex(
      { jobId: 'j1', batchId: 'b00001', attempt: 1, results: [copied('A'), copied('B')] },
      store,
    );
    expect(key).toBe('jobs/j1/index/b00001.jsonl');
    const text = store.objects.get('jobs/j1/index/b00001.jsonl')?.text ?? '';
    expect(text.split('\n')).toHaveLength(3);
    expect(JSON.parse(text.split('\n')[0] as string)).toEqual({ ...record('A'), outcome: 'copied' });
  });

  it('keeps what an earlier attempt recorded when a retry can only skip without a record', async () => {
    const store = new MemoryTexts();
    await writeBatchIndex(
      { jobId: 'j', batchId: 'b1', attempt: 1, results: [copied('A'), failed('B')] },
      store,
    );
    await writeBatchIndex(
      { jobId: 'j', batchId: 'b1', attempt: 2, results: [skipped('A'), copied('B')] },
      store,
    );
    const lines = parseIndex(store.objects.get('jobs/j/index/b1.jsonl')?.text ?? '', 'x');
    expect(lines.map((l) => [l.fileId, l.outcome])).toEqual([
      ['A', 'copied'],
      ['B', 'copied'],
    ]);
  });

  it('replaces an earlier line with the newer record of the same object', async () => {
    const store = new MemoryTexts();
    await writeBatchIndex({ jobId: 'j', batchId: 'b1', attempt: 1, results: [copied('A')] }, store);
    await writeBatchIndex(
      { jobId: 'j', batchId: 'b1', attempt: 2, results: [skipped('A', record('A', { versionId: 'v2' }))] },
      store,
    );
    const lines = parseIndex(store.objects.get('jobs/j/index/b1.jsonl')?.text ?? '', 'x');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ versionId: 'v2', outcome: 'skipped' });
  });

  it('writes nothing for a batch that recorded nothing', async () => {
    const store = new MemoryTexts();
    expect(
      await writeBatchIndex({ jobId: 'j', batchId: 'b1', attempt: 1, results: [failed('A')] }, store),
    ).toBe(undefined);
    expect(store.objects.size).toBe(0);
  });

  it('reads a job batch by batch, in order, from a given batch on', async () => {
    const store = new MemoryTexts();
    for (const b of ['b00002', 'b00001', 'b00003']) {
      await writeBatchIndex({ jobId: 'j', batchId: b, attempt: 1, results: [copied(b)] }, store);
    }
    await store.putText('jobs/j/index/notes.txt', 'x', 'text/plain');
    const all: string[] = [];
    for await (const page of readJobIndex('j', store)) all.push(page.batchId);
    expect(all).toEqual(['b00001', 'b00002', 'b00003']);
    const later: string[] = [];
    for await (const page of readJobIndex('j', store, { after: 'b00001' })) later.push(page.batchId);
    expect(later).toEqual(['b00002', 'b00003']);
  });

  it('names the object and line of a line that is not a record', () => {
    expect(() =>
      parseIndex('{"objectKey":"a","size":1,"sha256":"x"}\n{"nope":1}\n', 'jobs/j/index/b1.jsonl'),
    ).toThrow('jobs/j/index/b1.jsonl line 2 is not a file record');
    expect(() => parseIndex('oops\n', 'o')).toThrow('o line 1 is not JSON');
  });
});

describe('the index as CSV', () => {
  it('has a header and one row per file, quoting what needs quotes', () => {
    expect(csvHeader()).toBe(
      'objectKey,versionId,size,sha256,sourceCrc64,sourceMd5,sourceVerified,s3ChecksumAlgorithm,s3Checksum,fileId,ekbKey,at,outcome\r\n',
    );
    const line: IndexLine = {
      ...record('A', {
        ekbKey: 'openapi-报销, "final".pdf',
        s3Checksum: { algorithm: 'SHA256', value: 'c2hh' },
      }),
      outcome: 'copied',
    };
    expect(csvRow(line)).toBe(
      `attachments/A/f.pdf,,10,${line.sha256},123,,true,SHA256,c2hh,A,"openapi-报销, ""final"".pdf",2026-03-01T00:00:00.000Z,copied\r\n`,
    );
  });

  it('defuses cells a spreadsheet would run as formulas', () => {
    const line: IndexLine = { ...record('A', { ekbKey: '=HYPERLINK("x")' }), outcome: 'copied' };
    expect(csvRow(line)).toContain(`,"'=HYPERLINK(""x"")",`);
  });
});
