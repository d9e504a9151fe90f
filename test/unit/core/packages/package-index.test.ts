import { describe, expect, it } from 'vitest';
import type { PackageInfo } from '../../../../functions/core/model/package.js';
import { packageRoot, packageVersion } from '../../../../functions/core/packages/layout.js';
import { buildIndex } from '../../../../functions/core/packages/package-index.js';
import { archivability } from '../../../../functions/core/packages/states.js';

const root = packageRoot('expense', 'B26/0001');
const info: PackageInfo = {
  flowId: 'F1',
  code: 'B26/0001',
  formType: 'expense',
  updateTime: Date.UTC(2026, 2, 2, 1, 15),
  version: packageVersion(Date.UTC(2026, 2, 2, 1, 15)),
  state: 'paid',
  root,
};
const ok = { ok: { objectKey: `${root}v/x`, size: 1, sha256: 'a'.repeat(64) } };

describe('layout and states', () => {
  it('keeps a package in one folder whatever its code holds, versions by updateTime to the millisecond', () => {
    expect(root).toBe('forms/expense/B26_0001/');
    expect(packageVersion(Date.UTC(2026, 2, 2, 1, 15, 0, 7))).toBe('20260302T011500.007Z');
  });

  it('seals only forms in a configured final state with an updateTime', () => {
    const states = ['paid', 'archived'];
    expect(archivability({ id: 'a', state: 'paid', updateTime: 1 }, states)).toEqual({ ok: true });
    expect(archivability({ id: 'a', state: 'paying', updateTime: 1 }, states)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/paying/),
    });
    expect(archivability({ id: 'a', state: 'paid', updateTime: 1, active: false }, states)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/deleted/),
    });
    expect(archivability({ id: 'a', state: 'paid' }, states)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/updateTime/),
    });
  });
});

describe('buildIndex', () => {
  it('is complete only when no listed file or part is missing, and says why for each one that is', () => {
    const copied = {
      status: 'copied' as const,
      id: 'f1',
      key: 'k1',
      objectKey: `${root}files/body/f1-a.pdf`,
      bytes: 10,
      ms: 1,
      record: {
        objectKey: `${root}files/body/f1-a.pdf`,
        size: 10,
        sha256: 'b'.repeat(64),
        source: { verified: false },
        fileId: 'f1',
        ekbKey: 'k1',
        at: new Date(0).toISOString(),
      },
    };
    const complete = buildIndex({
      info,
      form: {
        id: 'F1',
        code: 'B26/0001',
        state: 'paid',
        updateTime: info.updateTime,
        form: { title: 'T', payMoney: { standard: '1.00' } },
      },
      files: [{ result: copied, facts: { sha256: 'b'.repeat(64) } }],
      formJson: ok,
      printPdf: ok,
      jobId: 'j',
      now: new Date(0),
    });
    expect(complete).toMatchObject({
      complete: true,
      missing: [],
      files: [{ role: 'body', fileId: 'f1', key: 'k1', size: 10, sha256: 'b'.repeat(64), status: 'copied' }],
      form: { title: 'T', amounts: [{ field: 'payMoney', amount: '1.00' }] },
    });

    const broken = buildIndex({
      info,
      form: undefined,
      files: [
        {
          result: {
            status: 'failed',
            id: 'inv1',
            key: 'url',
            code: 'invoice_unavailable',
            retryable: false,
            message: 'gone',
          },
          ref: {
            kind: 'invoice',
            id: 'inv1',
            key: 'url',
            targetKey: `${root}files/invoice-original/inv1-x`,
            pkg: {
              flowId: 'F1',
              role: 'invoice-original',
              sources: ['INVOICE/url'],
              invoice: { id: 'inv1' },
            },
          },
        },
        // Known only from another part's report: the role comes from the object key.
        {
          result: {
            status: 'skipped',
            id: 'r',
            key: 'r.pdf',
            objectKey: `${root}files/receipt/r.pdf`,
            reason: 'exists',
          },
        },
      ],
      formJson: { failed: { code: 'form_not_found', message: 'gone' } },
      printPdf: { failed: { code: 'print_too_large', message: 'big' } },
      jobId: 'j',
      now: new Date(0),
    });
    expect(broken.complete).toBe(false);
    expect(broken.files).toEqual([expect.objectContaining({ role: 'receipt', status: 'skipped' })]);
    expect(broken.missing).toEqual([
      expect.objectContaining({
        role: 'invoice-original',
        code: 'invoice_unavailable',
        invoice: { id: 'inv1' },
      }),
      { part: 'form.json', code: 'form_not_found', reason: 'gone' },
      { part: 'print.pdf', code: 'print_too_large', reason: 'big' },
    ]);
    expect(broken.form).toMatchObject({ id: 'F1', code: 'B26/0001', state: 'paid', type: 'expense' });
  });
});
