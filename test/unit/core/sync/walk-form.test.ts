import { describe, expect, it } from 'vitest';
import type { EkuaibaoForm } from '../../../../functions/core/model/forms.js';
import { findFormAttachments, formVars, isDeletedForm } from '../../../../functions/core/sync/walk-form.js';

const file = (n: number, fileName?: string) => ({
  fileId: `F${n}`,
  key: `openapi-${n}-file${n}.pdf`,
  ...(fileName ? { fileName } : {}),
});

function richForm(): EkuaibaoForm {
  return {
    id: 'ID_1',
    code: 'B26000001',
    formType: 'expense',
    state: 'paid',
    active: true,
    updateTime: 1,
    form: {
      code: 'B26000001',
      attachments: [file(1, 'a.pdf')],
      u_附件: [file(2, '自定义.pdf')],
      details: [
        {
          feeTypeForm: {
            attachments: [file(3, 'c.pdf')],
            invoiceForm: { attachments: [file(4, 'invoice.pdf')] },
            u_补充材料: [file(5, 'd.txt')],
          },
        },
      ],
    },
    logs: [{ action: 'freeflow.agree', attachments: [file(6, '审批意见.png')] }],
  };
}

describe('findFormAttachments', () => {
  it('finds attachments in the form, detail lines, invoice forms, custom fields and approval logs', () => {
    const { refs } = findFormAttachments(richForm());
    expect(refs.map((r) => r.id).sort()).toEqual(['F1', 'F2', 'F3', 'F4', 'F5', 'F6']);
  });

  it('keeps the form code, id and type and the file name with each ref', () => {
    const { refs } = findFormAttachments(richForm());
    const custom = refs.find((r) => r.id === 'F2');
    expect(custom).toEqual({
      id: 'F2',
      key: 'openapi-2-file2.pdf',
      fileName: '自定义.pdf',
      vars: { flowId: 'ID_1', flowCode: 'B26000001', formType: 'expense' },
    });
  });

  it('accepts numeric fileIds and sends them as strings', () => {
    const form: EkuaibaoForm = { id: 'X', form: { attachments: [{ fileId: 136634573449, key: 'k1' }] } };
    expect(findFormAttachments(form).refs).toEqual([
      { id: '136634573449', key: 'k1', vars: { flowId: 'X', flowCode: 'X', formType: 'unknown' } },
    ]);
  });

  it('takes a DP: file name from the key JSON when the object has none', () => {
    const key = `DP:${JSON.stringify({ fileId: '9', fileName: '现场照片 01.jpg', fileSize: 3, spaceId: '1' })}`;
    const form: EkuaibaoForm = { id: 'X', form: { attachments: [{ fileId: '9', key }] } };
    expect(findFormAttachments(form).refs[0]?.fileName).toBe('现场照片 01.jpg');
  });

  it('still sends a ref whose DP: key JSON is broken, without a name', () => {
    const form: EkuaibaoForm = { id: 'X', form: { attachments: [{ fileId: '9', key: 'DP:{broken' }] } };
    const { refs } = findFormAttachments(form);
    expect(refs).toHaveLength(1);
    expect(refs[0]?.fileName).toBeUndefined();
  });

  it('lists a file once when the form carries it in several places', () => {
    const form = richForm();
    (form.logs as Array<{ attachments: unknown[] }>)[0]!.attachments.push(file(1, 'a.pdf'));
    const { refs } = findFormAttachments(form);
    expect(refs.filter((r) => r.id === 'F1')).toHaveLength(1);
  });

  it('ignores objects that lack a string key or a fileId', () => {
    const form: EkuaibaoForm = {
      id: 'X',
      form: {
        a: { fileId: 'F1' },
        b: { key: 'k' },
        c: { fileId: { nested: true }, key: 'k' },
        d: { fileId: 'F2', key: 42 },
      },
    };
    expect(findFormAttachments(form).refs).toEqual([]);
  });

  it('reports attachment objects with an empty fileId or key instead of sending them', () => {
    const form: EkuaibaoForm = {
      id: 'X',
      form: {
        attachments: [
          { fileId: '', key: 'k' },
          { fileId: 'F', key: '' },
        ],
      },
    };
    const { refs, invalid } = findFormAttachments(form);
    expect(refs).toEqual([]);
    expect(invalid).toEqual([
      { path: '$.form.attachments[0]', reason: 'empty fileId' },
      { path: '$.form.attachments[1]', reason: 'empty key' },
    ]);
  });

  it('survives a cyclic document', () => {
    const inner: Record<string, unknown> = { attachments: [file(1)] };
    inner.self = inner;
    const form: EkuaibaoForm = { id: 'X', form: inner };
    expect(findFormAttachments(form).refs).toHaveLength(1);
  });

  it('finds nothing in a form without attachments', () => {
    const form: EkuaibaoForm = { id: 'X', form: { attachments: [], details: [{ feeTypeForm: {} }] } };
    expect(findFormAttachments(form).refs).toEqual([]);
  });
});

describe('formVars', () => {
  it('falls back to the inner code, then the id, when the form has no code', () => {
    expect(formVars({ id: 'I', form: { code: 'INNER' } }).flowCode).toBe('INNER');
    expect(formVars({ id: 'I', code: '' }).flowCode).toBe('I');
  });
});

describe('isDeletedForm', () => {
  it('treats active:false and a deleted state as deleted, everything else as live', () => {
    expect(isDeletedForm({ id: 'a', active: false })).toBe(true);
    expect(isDeletedForm({ id: 'a', state: 'deleted' })).toBe(true);
    expect(isDeletedForm({ id: 'a', active: true, state: 'paid' })).toBe(false);
    expect(isDeletedForm({ id: 'a' })).toBe(false);
  });
});
