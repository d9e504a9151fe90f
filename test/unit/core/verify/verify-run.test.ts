import { describe, expect, it } from 'vitest';
import { writeBatchIndex } from '../../../../functions/core/jobs/file-index.js';
import { batchReportKey, jobRecordKey } from '../../../../functions/core/jobs/keys.js';
import type { CopyResult } from '../../../../functions/core/model/copy-result.js';
import type { VerifyMessage } from '../../../../functions/core/model/verify.js';
import { silentLogger } from '../../../../functions/core/ports.js';
import {
  getVerifyStatus,
  parseVerifyRequest,
  runVerifyPart,
  startVerifyRun,
  type VerifyRunDeps,
} from '../../../../functions/core/verify/verify-run.js';
import { MemoryTexts } from '../copy/fakes.js';
import { memoryStore } from '../jobs/job-fakes.js';
import { FakeArchive, sha256Hex } from './fake-archive.js';

function setup(partMaxObjects = 5_000) {
  const reader = new FakeArchive();
  const reports = memoryStore();
  const texts = new MemoryTexts();
  const sent: VerifyMessage[] = [];
  const deps: VerifyRunDeps = {
    reader,
    reports,
    texts,
    queue: { send: async (m) => void sent.push(m) },
    logger: silentLogger,
    now: () => new Date('2026-03-01T00:00:00Z'),
    partMaxObjects,
  };
  return { reader, reports, texts, sent, deps };
}

/** Runs queued parts until the chain ends (or `limit` parts). */
async function drain(s: ReturnType<typeof setup>, limit = 100): Promise<number> {
  let parts = 0;
  while (s.sent.length > 0 && parts < limit) {
    const m = s.sent.shift() as VerifyMessage;
    await runVerifyPart(m, s.deps);
    parts += 1;
  }
  return parts;
}

describe('parseVerifyRequest', () => {
  it('takes a job, a prefix or keys, and deep', () => {
    expect(parseVerifyRequest('{"jobId":"j1","deep":true}')).toEqual({
      scope: { kind: 'job', jobId: 'j1' },
      deep: true,
    });
    expect(parseVerifyRequest('{"prefix":"attachments/"}')).toEqual({
      scope: { kind: 'prefix', prefix: 'attachments/' },
      deep: false,
    });
    const keys = parseVerifyRequest(
      JSON.stringify({ keys: ['a/b.pdf', { objectKey: 'c', size: 1, sha256: 'x', outcome: 'copied' }] }),
    );
    expect(keys.keys).toEqual(['a/b.pdf', { objectKey: 'c', size: 1, sha256: 'x' }]);
  });

  it.each([
    ['{}', 'exactly one of'],
    ['{"jobId":"a","prefix":"b"}', 'exactly one of'],
    ['{"jobId":"../x"}', 'job id'],
    ['{"prefix":"jobs/x"}', 'system lane jobs/'],
    ['{"prefix":"sync/"}', 'system lane sync/'],
    ['{"keys":[]}', 'non-empty array'],
    ['{"keys":[""]}', 'keys[0]'],
    ['{"keys":[{"size":1}]}', 'keys[0]: a JSON line needs "objectKey"'],
    ['{"prefix":"a","deep":"yes"}', '"deep" must be true or false'],
    ['not json', 'not valid JSON'],
  ])('refuses %s naming the problem', (body, message) => {
    expect(() => parseVerifyRequest(body)).toThrow(message);
  });

  it('refuses more than 10,000 keys as too large', () => {
    const body = JSON.stringify({ keys: Array.from({ length: 10_001 }, (_, i) => `k${i}`) });
    expect(() => parseVerifyRequest(body)).toThrow(expect.objectContaining({ status: 413 }));
  });
});

describe('a verify run in parts', () => {
  it('checks a prefix part by part, each part queuing the next, and adds the parts up', async () => {
    const s = setup(100);
    s.reader.pageSize = 40;
    for (let i = 0; i < 250; i++) {
      const body = Buffer.from(`file ${i}`);
      s.reader.objects.set(`attachments/${String(i).padStart(3, '0')}`, {
        body,
        metadata: { sha256: sha256Hex(body) },
      });
    }
    s.reader.objects.set('attachments/zzz-stranger', { body: Buffer.from('?') });
    s.reader.objects.set('jobs/j/job.json', { body: Buffer.from('{}') });
    await startVerifyRun({ scope: { kind: 'prefix', prefix: '' }, deep: false }, 'v1', s.deps);
    expect(await getVerifyStatus('v1', s.deps)).toMatchObject({ state: 'running', parts: 0 });
    const parts = await drain(s);
    expect(parts).toBe(3);
    const status = await getVerifyStatus('v1', s.deps);
    expect(status).toMatchObject({
      state: 'differs',
      parts: 3,
      totals: { checked: 251, ok: 250, unrecorded: 1, changed: 0, missing: 0 },
    });
    expect(status?.findings).toEqual([
      expect.objectContaining({ objectKey: 'attachments/zzz-stranger', status: 'unrecorded' }),
    ]);
  });

  it("checks a job's index and its report, and says ok when all is well", async () => {
    const s = setup();
    const results: CopyResult[] = ['A', 'B'].map((id) => {
      const body = Buffer.from(`body ${id}`);
      s.reader.objects.set(`attachments/${id}`, { body });
      return {
        status: 'copied',
        id,
        key: id,
        objectKey: `attachments/${id}`,
        bytes: body.length,
        ms: 1,
        record: {
          objectKey: `attachments/${id}`,
          size: body.length,
          sha256: sha256Hex(body),
          source: { verified: false },
          fileId: id,
          ekbKey: id,
          at: 'x',
        },
      };
    });
    await s.reports.putJson(jobRecordKey('j1'), { v: 1, jobId: 'j1', batchIds: ['b00001'] });
    await s.reports.putJson(batchReportKey('j1', 'b00001'), { jobId: 'j1', batchId: 'b00001', results });
    await writeBatchIndex({ jobId: 'j1', batchId: 'b00001', attempt: 1, results }, s.texts);
    await startVerifyRun({ scope: { kind: 'job', jobId: 'j1' }, deep: false }, 'v2', s.deps);
    await drain(s);
    expect(await getVerifyStatus('v2', s.deps)).toMatchObject({ state: 'ok', totals: { checked: 2, ok: 2 } });
  });

  it('refuses a job that does not exist before recording anything', async () => {
    const s = setup();
    await expect(
      startVerifyRun({ scope: { kind: 'job', jobId: 'nope' }, deep: false }, 'v3', s.deps),
    ).rejects.toMatchObject({
      status: 404,
    });
    expect(s.sent).toEqual([]);
  });

  it('drops a chunk the deadline cut off and does it again in the next part: every object counted once', async () => {
    const s = setup();
    s.reader.pageSize = 10;
    for (let i = 0; i < 30; i++) {
      const body = Buffer.from(`f${i}`);
      s.reader.objects.set(`a/${String(i).padStart(2, '0')}`, {
        body,
        metadata: { sha256: sha256Hex(body) },
      });
    }
    await startVerifyRun({ scope: { kind: 'prefix', prefix: 'a/' }, deep: false }, 'v4', s.deps);
    const ac = new AbortController();
    const head = s.reader.head.bind(s.reader);
    // The deadline fires during the 15th HEAD: the second page (10..19) is cut off.
    s.reader.head = async (key) => {
      if (s.reader.heads === 14) ac.abort(new Error('deadline'));
      return head(key);
    };
    const first = await runVerifyPart(s.sent.shift() as VerifyMessage, s.deps, ac.signal);
    expect(first).toMatchObject({ done: false, next: 'a/09', totals: { checked: 10 } });
    s.reader.head = head;
    await drain(s);
    expect(await getVerifyStatus('v4', s.deps)).toMatchObject({
      state: 'ok',
      parts: 2,
      totals: { checked: 30, ok: 30 },
    });
  });

  it('checks keys and index lines given in the request', async () => {
    const s = setup();
    const body = Buffer.from('kept');
    s.reader.objects.set('k/1', { body });
    await startVerifyRun(
      parseVerifyRequest(
        JSON.stringify({
          keys: [
            { objectKey: 'k/1', size: 4, sha256: sha256Hex(body) },
            { objectKey: 'k/2', size: 1, sha256: 'a'.repeat(64) },
          ],
        }),
      ),
      'v5',
      s.deps,
    );
    await drain(s);
    const status = await getVerifyStatus('v5', s.deps);
    expect(status).toMatchObject({ state: 'differs', totals: { ok: 1, missing: 1 } });
    expect(status?.findings[0]).toMatchObject({ objectKey: 'k/2', status: 'missing', line: 2 });
  });
});
