import { describe, expect, it } from 'vitest';
import type { FlowAttachments, InvoiceFile } from '../../../../functions/core/model/form-files.js';
import type { EkuaibaoForm } from '../../../../functions/core/model/forms.js';
import { packageFiles, roleOfPath } from '../../../../functions/core/packages/package-files.js';

const ROOT = 'forms/expense/B1/';
const form: EkuaibaoForm = {
  id: 'F1',
  code: 'B1',
  formType: 'expense',
  updateTime: 1,
  form: {
    attachments: [{ fileId: 'a1', key: 'openapi-1-合同.pdf', fileName: '合同.pdf' }],
    u_附件: [
      { fileId: 'a2', key: 'k2', fileName: '说明.txt' },
      { fileId: '', key: 'broken' },
    ],
    details: [{ feeTypeForm: { attachments: [{ fileId: 'a3', key: 'k3', fileName: '票.jpg' }] } }],
  },
  logs: [{ attachments: [{ fileId: 'a4', key: 'k4', fileName: '意见.png' }] }],
};
const url = 'https://vipimg.ekuaibao.com/x?e=1&token=t';

describe('roleOfPath', () => {
  it('names where in the form JSON a file sits', () => {
    expect(roleOfPath('$.logs[2].attachments[0]')).toBe('approval');
    expect(roleOfPath('$.form.details[0].feeTypeForm.invoiceForm.attachments[0]')).toBe('fee');
    expect(roleOfPath('$.form.u_附件[1]')).toBe('body');
  });
});

describe('packageFiles', () => {
  it('takes every file of the walk, by role, each under files/<role>/ with its fileId', () => {
    const { refs, invalid } = packageFiles({
      form,
      root: ROOT,
      flow: undefined,
      invoices: [],
      invoiceFiles: new Map(),
    });
    expect(invalid).toBe(1);
    expect(refs.map((r) => [r.kind ?? 'file', r.pkg?.role, r.targetKey])).toEqual([
      ['file', 'body', 'forms/expense/B1/files/body/a1-合同.pdf'],
      ['file', 'body', 'forms/expense/B1/files/body/a2-说明.txt'],
      ['file', 'fee', 'forms/expense/B1/files/fee/a3-票.jpg'],
      ['file', 'approval', 'forms/expense/B1/files/approval/a4-意见.png'],
    ]);
  });

  it('merges a file flowDetails/attachment lists too (same fileId and key) and adds what only it lists', () => {
    const flow: FlowAttachments = {
      flowId: 'F1',
      files: [
        { role: 'fee', item: 'k3', key: 'k3', fileId: 'a3', freeId: 'taxi', url },
        {
          role: 'invoice',
          item: 'inv.jpg',
          key: 'inv.jpg',
          fileId: 'fi',
          fileName: '发票.jpg',
          freeId: 'taxi',
          url,
          invoice: { code: '1440', number: '0097' },
        },
        { role: 'receipt', item: 'r-1.pdf', key: 'r-1.pdf', url },
        { role: 'receipt', item: 'r-1.pdf', key: 'r-1.pdf', url },
        { role: 'receipt', item: '#1', url },
      ],
    };
    const { refs } = packageFiles({ form, root: ROOT, flow, invoices: [], invoiceFiles: new Map() });
    const fee = refs.find((r) => r.id === 'a3');
    expect(fee?.pkg).toMatchObject({
      role: 'fee',
      sources: ['form', 'flowDetails/attachment'],
      freeId: 'taxi',
    });
    const extra = refs.filter((r) => r.kind === 'flow');
    expect(extra.map((r) => [r.id, r.key, r.kind === 'flow' && r.role, r.targetKey])).toEqual([
      ['F1', 'inv.jpg', 'invoice', 'forms/expense/B1/files/invoice/fi-发票.jpg'],
      ['F1', 'r-1.pdf', 'receipt', 'forms/expense/B1/files/receipt/r-1.pdf'],
      ['F1', '#1', 'receipt', 'forms/expense/B1/files/receipt/#1'],
    ]);
    expect(extra[0]?.pkg?.invoice).toEqual({ code: '1440', number: '0097' });
  });

  it('adds each invoice of the form once as an INVOICE/url ref, named from its file, crops marked', () => {
    const files = new Map<string, InvoiceFile>([
      ['corp:1:2', { id: 'corp:1:2', url, fileName: '出租车.jpg', crop: true }],
    ]);
    const { refs } = packageFiles({
      form,
      root: ROOT,
      flow: undefined,
      invoices: [
        { invoiceId: 'corp:1:2', itemIds: [], type: 'taxi' },
        { invoiceId: 'corp:1:2', itemIds: [] },
        { invoiceId: 'lost', itemIds: [] },
      ],
      invoiceFiles: files,
    });
    const invoices = refs.filter((r) => r.kind === 'invoice');
    expect(invoices.map((r) => [r.id, r.key, r.targetKey, r.pkg?.crop])).toEqual([
      ['corp:1:2', 'url', 'forms/expense/B1/files/invoice-original/corp_1_2-出租车.jpg', true],
      ['lost', 'url', 'forms/expense/B1/files/invoice-original/lost-invoice', undefined],
    ]);
    expect(invoices[0]?.pkg?.invoice).toEqual({ id: 'corp:1:2', type: 'taxi' });
  });

  it('never gives two files one key: a name cut to the same key gets ~2', () => {
    const long = 'x'.repeat(300);
    const twins: EkuaibaoForm = {
      id: 'F2',
      form: {
        attachments: [
          { fileId: 'same', key: 'k1', fileName: `${long}a.pdf` },
          { fileId: 'same', key: 'k2', fileName: `${long}b.pdf` },
        ],
      },
    };
    const keys = packageFiles({
      form: twins,
      root: ROOT,
      flow: undefined,
      invoices: [],
      invoiceFiles: new Map(),
    }).refs.map((r) => r.targetKey as string);
    expect(new Set(keys).size).toBe(2);
    expect(keys[1]).toMatch(/~2\.pdf$/);
  });
});
