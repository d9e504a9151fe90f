/**
 * Form packages end to end over the sandbox and s3rver (harness.ts): a complete package whose stored objects match
 * the sandbox's bytes by SHA-256, receipts without fileId, expired one-hour URLs, versions, and every bad case the
 * issue names recorded in the index and the job report while the rest of the package lands.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runBatchMessage } from '../../../functions/core/copy/run-batch.js';
import type { CopyResult } from '../../../functions/core/model/copy-result.js';
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';
import type { PackageIndex, PackageIndexFile } from '../../../functions/core/model/package.js';
import { indexKey, packageVersion } from '../../../functions/core/packages/layout.js';
import { DEMO_INVOICE_IDS } from '../../../infra/local/sandbox/demo-data.js';
import {
  archive,
  formsById,
  type Harness,
  indexOf,
  keysUnder,
  MAX_RECEIVES,
  queueForms,
  rootOf,
  runMessages,
  sha256,
  startHarness,
  stored,
} from './harness.js';

const A01_EXPENSE = 'ID_3kPq8Xz1a01';
const A02_APPROVING = 'ID_3kPq8Xz1a02';
const A03_MEAL = 'ID_3kPq8Xz1a03';
const B01_LOAN = 'ID_3kPq8Xz1b01';
const C01_REQUISITION = 'ID_3kPq8Xz1c01';
const C02_APPROVING = 'ID_3kPq8Xz1c02';
const D01_ARCHIVED = 'ID_3kPq8Xz1d01';
const D02_DRAFT = 'ID_3kPq8Xz1d02';
const E01_PAYMENT = 'ID_3kPq8Xz1e01';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.sandbox.clearFaults();
});

const form = async (flowId: string): Promise<EkuaibaoForm> => {
  const f = await h.client.getFlowDetails({ flowId });
  if (!f) throw new Error(`no form ${flowId}`);
  return f;
};

/** What the sandbox serves for the file an index entry names. */
async function expectedSha256(f: PackageIndexFile): Promise<string> {
  if (f.role === 'invoice-original') return h.sandbox.invoiceSha256(f.invoice?.id as string);
  // A file the form's JSON holds is the 合思 file of that fileId; the others are storage objects by key.
  if (f.sources.includes('form')) return h.sandbox.sha256(f.fileId as string);
  return h.sandbox.objectSha256(f.key as string);
}

/** Every file the index lists is stored with the sandbox's bytes, and its size (and SHA-256, once recorded) agree. */
async function expectFilesMatch(index: PackageIndex): Promise<void> {
  for (const f of index.files) {
    const object = await stored(h, f.objectKey);
    expect(object.sha256, f.objectKey).toBe(await expectedSha256(f));
    expect(f.size, f.objectKey).toBe(object.size);
    // The proof record (issue 14) carries the SHA-256 once merged; where it is there it must be the object's.
    if (f.sha256 !== undefined) expect(f.sha256, f.objectKey).toBe(object.sha256);
  }
}

const failedOf = (results: CopyResult[]) =>
  results.filter((r): r is Extract<CopyResult, { status: 'failed' }> => r.status === 'failed');

describe('form packages over the sandbox and s3rver', () => {
  it('archives a form with every kind of file to a complete package whose index matches the objects by SHA-256', async () => {
    const job = await archive(h, [A01_EXPENSE]);
    const f = await form(A01_EXPENSE);
    const root = rootOf(f);
    const version = packageVersion(f.updateTime as number);

    expect(job.results).toHaveLength(job.record?.counts.refs as number);
    expect(failedOf(job.results)).toEqual([]);
    expect(job.record?.packages).toMatchObject({ queued: 1, unchanged: 0, held: 0 });
    // Messages carry what identifies a file, never a URL.
    expect(JSON.stringify(job.messages)).not.toMatch(/https?:|Signature|token=|Expires/);

    const index = (await indexOf(h, f)) as PackageIndex;
    expect(index).toMatchObject({ v: 1, complete: true, missing: [], version });
    expect(new Set(index.files.map((x) => x.role))).toEqual(
      new Set(['body', 'fee', 'invoice', 'invoice-original', 'approval', 'receipt']),
    );
    await expectFilesMatch(index);
    // Archived once: the files folder holds exactly the indexed files, although the walk and
    // flowDetails/attachment both list the form's own attachments.
    expect(await keysUnder(h, `${root}files/`)).toEqual(index.files.map((x) => x.objectKey).sort());
    const docx = index.files.find((x) => x.name === 'kotlin简介.docx');
    expect(docx?.sources).toEqual(['form', 'flowDetails/attachment']);
    // The vendor's swapped fields put right: code = 发票代码, number = 发票号码.
    expect(index.files.find((x) => x.role === 'invoice' && x.name === '出租车发票.jpg')?.invoice).toEqual({
      code: '144062070284',
      number: '00097977',
    });
    const originals = index.files.filter((x) => x.role === 'invoice-original');
    expect(originals.map((x) => [x.invoice?.id, x.crop === true]).sort()).toEqual(
      [
        [DEMO_INVOICE_IDS.hotelXml, false],
        [DEMO_INVOICE_IDS.meetingPdf, false],
        [DEMO_INVOICE_IDS.taxi, true],
      ].sort(),
    );

    const pdf = await stored(h, `${root}${version}/print.pdf`);
    expect(pdf.sha256).toBe(sha256(h.sandbox.flowsPdf([A01_EXPENSE])));
    expect(index.parts['print.pdf']).toEqual({
      objectKey: `${root}${version}/print.pdf`,
      size: pdf.size,
      sha256: pdf.sha256,
    });
    const json = await stored(h, `${root}${version}/form.json`);
    expect(JSON.parse(json.body.toString('utf8'))).toEqual(f);
    expect(index.parts['form.json']?.sha256).toBe(json.sha256);
    expect(index.form).toMatchObject({
      id: A01_EXPENSE,
      code: 'B26000001',
      type: 'expense',
      title: '上海出差报销',
      state: 'paid',
      submitter: 'sandbox:u001',
      amounts: [{ field: 'expenseMoney', amount: '2380.50', currency: 'CNY' }],
    });
    expect(index.approval.map((s) => s.action)).toEqual([
      'freeflow.submit',
      'freeflow.comment',
      'freeflow.agree',
    ]);
  });

  it('copies bank receipts without fileId through their form, never through downloadurls', async () => {
    const before = { ...h.sandbox.stats };
    await archive(h, [E01_PAYMENT]);
    const index = (await indexOf(h, await form(E01_PAYMENT))) as PackageIndex;

    const receipts = index.files.filter((x) => x.role === 'receipt');
    expect(receipts).toHaveLength(2);
    for (const r of receipts) {
      expect(r.fileId).toBeUndefined();
      expect(r.sources).toEqual(['flowDetails/attachment']);
      expect((await stored(h, r.objectKey)).sha256).toBe(await h.sandbox.objectSha256(r.key as string));
    }
    expect(index.complete).toBe(true);
    // downloadurls was asked for the form's one attachment only; the receipts came from flowDetails/attachment.
    expect(h.sandbox.stats.downloadUrlItems - before.downloadUrlItems).toBe(1);
    expect((h.sandbox.stats.flowAttachmentCalls ?? 0) - (before.flowAttachmentCalls ?? 0)).toBe(2);
  });

  it('re-fetches an expired one-hour URL from the endpoint that signed it', async () => {
    const queued = await queueForms(h, await formsById(h, [A03_MEAL]));
    const before = { ...h.sandbox.stats };
    h.sandbox.inject({ kind: 'expiredUrl' });
    // One file at a time: the invoice photo from flowDetails/attachment is the first GET, and gets the 403.
    await runMessages(h, queued.messages, { concurrency: 1 });

    const index = (await indexOf(h, await form(A03_MEAL))) as PackageIndex;
    expect(index.complete).toBe(true);
    await expectFilesMatch(index);
    expect(h.sandbox.stats.faultsFired.expiredUrl).toBe(1);
    expect((h.sandbox.stats.downloadsRefused ?? 0) - (before.downloadsRefused ?? 0)).toBe(1);
    // Resolved once before the download and once more after the 403.
    expect((h.sandbox.stats.flowAttachmentCalls ?? 0) - (before.flowAttachmentCalls ?? 0)).toBe(2);
  });

  it('gives a changed form a second package version and keeps the first; an unchanged form queues nothing', async () => {
    await archive(h, [C01_REQUISITION]);
    const v1 = await form(C01_REQUISITION);
    const firstIndex = await stored(h, indexKey(rootOf(v1), packageVersion(v1.updateTime as number)));

    h.sandbox.changeForm(C01_REQUISITION, { attachment: { fileName: '补充合同.pdf', size: 5_000 } });
    const second = await archive(h, [C01_REQUISITION]);
    const v2 = await form(C01_REQUISITION);
    expect(v2.updateTime).not.toBe(v1.updateTime);

    const versions = (await keysUnder(h, rootOf(v1))).filter((k) => k.endsWith('/package.json'));
    expect(versions).toHaveLength(2);
    expect((await stored(h, indexKey(rootOf(v1), packageVersion(v1.updateTime as number)))).sha256).toBe(
      firstIndex.sha256,
    );
    const index2 = (await indexOf(h, v2)) as PackageIndex;
    expect(index2.complete).toBe(true);
    await expectFilesMatch(index2);
    // The unchanged files are the same objects: not copied again.
    expect(index2.files.map((x) => [x.name, x.status]).sort()).toEqual(
      [
        ['供应商报价单.png', 'skipped'],
        ['补充合同.pdf', 'copied'],
        ['采购清单.xlsx', 'skipped'],
      ].sort(),
    );
    expect(second.results.filter((r) => r.status === 'copied').map((r) => r.key)).toEqual(
      expect.arrayContaining(['form.json', 'print.pdf', 'package.json']),
    );

    const again = await archive(h, [C01_REQUISITION]);
    expect(again.messages).toEqual([]);
    expect(again.record?.packages).toMatchObject({ queued: 0, unchanged: 1 });
  });

  it('records forms in states not to archive and seals nothing of them', async () => {
    const job = await archive(h, [C02_APPROVING, D02_DRAFT]);
    expect(job.messages).toEqual([]);
    expect(job.record?.packages?.held).toBe(2);
    expect(job.record?.packages?.heldForms).toEqual([
      expect.objectContaining({
        flowId: C02_APPROVING,
        state: 'approving',
        reason: expect.stringMatching(/approving/),
      }),
      expect.objectContaining({ flowId: D02_DRAFT, state: 'draft', reason: expect.stringMatching(/draft/) }),
    ]);
    for (const id of [C02_APPROVING, D02_DRAFT])
      expect(await keysUnder(h, rootOf(await form(id)))).toEqual([]);
  });

  it('records an invoice whose original 合思 cannot produce; the rest of the package lands, not complete', async () => {
    h.sandbox.transitionForm(A02_APPROVING, 'approve');
    h.sandbox.transitionForm(A02_APPROVING, 'pay');
    const job = await archive(h, [A02_APPROVING]);
    const index = (await indexOf(h, await form(A02_APPROVING))) as PackageIndex;

    expect(index.complete).toBe(false);
    expect(index.missing).toEqual([
      expect.objectContaining({
        role: 'invoice-original',
        invoice: expect.objectContaining({ id: DEMO_INVOICE_IDS.trainLost }),
        code: 'invoice_unavailable',
      }),
    ]);
    await expectFilesMatch(index);
    expect(index.files.some((x) => x.invoice?.id === DEMO_INVOICE_IDS.officeOfd)).toBe(true);
    expect(failedOf(job.results)).toEqual([
      expect.objectContaining({
        id: DEMO_INVOICE_IDS.trainLost,
        code: 'invoice_unavailable',
        retryable: false,
      }),
    ]);
    expect(job.results.find((r) => r.key === 'package.json')?.status).toBe('copied');
  });

  it('records a print PDF 合思 refuses as over 32 MB; the files and form.json land', async () => {
    h.sandbox.inject({ kind: 'pdfTooLarge' });
    const job = await archive(h, [B01_LOAN]);
    const index = (await indexOf(h, await form(B01_LOAN))) as PackageIndex;

    expect(index.complete).toBe(false);
    expect(index.missing).toEqual([expect.objectContaining({ part: 'print.pdf', code: 'print_too_large' })]);
    expect(index.parts['form.json']).toBeDefined();
    expect(index.files).toHaveLength(2);
    await expectFilesMatch(index);
    expect(failedOf(job.results)).toEqual([
      expect.objectContaining({ id: B01_LOAN, key: 'print.pdf', code: 'print_too_large', retryable: false }),
    ]);
  });

  it('records a form that vanished before the copy worker fetched it; its files still land', async () => {
    const queued = await queueForms(h, await formsById(h, [D01_ARCHIVED]));
    h.sandbox.inject({ kind: 'vanishedForm', route: 'flowDetails', flowId: D01_ARCHIVED });
    await runMessages(h, queued.messages);
    const index = (await indexOf(h, await form(D01_ARCHIVED))) as PackageIndex;

    expect(index.complete).toBe(false);
    expect(index.missing.map((m) => [m.part, m.code])).toEqual([
      ['form.json', 'form_not_found'],
      ['print.pdf', 'form_not_found'],
    ]);
    expect(index.files.map((x) => x.name).sort()).toEqual(['photo 2026.jpeg', 'read me.txt']);
    await expectFilesMatch(index);
    expect(index.form).toMatchObject({ id: D01_ARCHIVED, code: 'C26000001', type: 'custom' });
  });

  it('writes nothing of a version whose form changed after it was planned (form_changed), for the next run', async () => {
    h.sandbox.putForm({
      id: 'ID_pkgChanged01',
      code: 'C26000099',
      formType: 'custom',
      state: 'paid',
      updateTime: Date.UTC(2026, 2, 6),
      form: {
        title: '会改的单据',
        attachments: [{ fileId: 'pkgChg00001', key: 'openapi-chg-改.pdf', fileName: '改.pdf', size: 900 }],
      },
      logs: [],
    });
    const queued = await queueForms(h, await formsById(h, ['ID_pkgChanged01']));
    const planned = await form('ID_pkgChanged01');
    h.sandbox.changeForm('ID_pkgChanged01', { title: '改过了' });
    await runMessages(h, queued.messages);

    const results = (
      await h.store.getJson<{ results: CopyResult[] }>(
        `jobs/${queued.jobId}/batches/${queued.messages[0]?.batchId}.json`,
      )
    )?.results as CopyResult[];
    expect(results.map((r) => r.status === 'failed' && r.code)).toEqual(results.map(() => 'form_changed'));
    expect(await keysUnder(h, rootOf(planned))).toEqual([]);
  });

  it('archives a package again over an object at its index key that is not an index', async () => {
    h.sandbox.putForm({
      id: 'ID_pkgGarbage1',
      code: 'C26000098',
      formType: 'custom',
      state: 'archived',
      updateTime: Date.UTC(2026, 2, 8),
      form: {
        attachments: [{ fileId: 'pkgGarb0001', key: 'openapi-garbage-a.txt', fileName: 'a.txt', size: 100 }],
      },
      logs: [],
    });
    const f = await form('ID_pkgGarbage1');
    await h.s3.client.send(
      new PutObjectCommand({
        Bucket: h.s3.bucket,
        Key: indexKey(rootOf(f), packageVersion(f.updateTime as number)),
        Body: 'not an index',
      }),
    );
    const job = await archive(h, ['ID_pkgGarbage1']);
    expect(failedOf(job.results)).toEqual([]);
    expect(await indexOf(h, f)).toMatchObject({
      complete: true,
      files: [expect.objectContaining({ name: 'a.txt' })],
    });
  });

  it('splits a form with more files than one message holds; the last part writes the index once the others settle', async () => {
    const attachments = Array.from({ length: 130 }, (_, i) => ({
      fileId: `pkgBig${String(i).padStart(5, '0')}`,
      key: `openapi-big-${i}.txt`,
      fileName: `附件${i}.txt`,
      size: 64 + i,
    }));
    h.sandbox.putForm({
      id: 'ID_pkgBig0001',
      code: 'C26000130',
      formType: 'custom',
      state: 'archived',
      updateTime: Date.UTC(2026, 2, 7),
      form: { title: '附件很多', attachments },
      logs: [],
    });
    const queued = await queueForms(h, await formsById(h, ['ID_pkgBig0001']));
    expect(queued.messages.map((m) => [m.refs.length, m.packages?.[0]?.part?.index])).toEqual([
      [100, 1],
      [33, 2],
    ]);
    const [first, last] = queued.messages as [(typeof queued.messages)[0], (typeof queued.messages)[0]];
    const run = (message: typeof first, attempt: number) =>
      runBatchMessage({ message, attempt, maxReceiveCount: MAX_RECEIVES }, h.deps);

    // The last part first: its files land, but the index waits for part 1.
    const early = await run(last, 1);
    expect(early.retry).toBe(true);
    expect(early.report.results.find((r) => r.key === 'package.json')).toMatchObject({
      status: 'failed',
      code: 'package_pending',
      retryable: true,
    });
    expect(await run(first, 1)).toMatchObject({ retry: false });
    const settled = await run(last, 2);
    expect(settled.retry).toBe(false);

    const index = (await indexOf(h, await form('ID_pkgBig0001'))) as PackageIndex;
    expect(index.complete).toBe(true);
    expect(index.files).toHaveLength(130);
    await expectFilesMatch(index);
  });
});
