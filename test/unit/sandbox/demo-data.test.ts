import { describe, expect, it } from 'vitest';
import { demoFiles, demoForms } from '../../../infra/local/sandbox/demo-data.js';
import { findAttachmentObjects } from '../../../infra/local/sandbox/forms.js';

type Att = { fileId: string; key: string; fileName: string };
const forms = demoForms();
const files = demoFiles();
const atts = (value: unknown) => findAttachmentObjects(value) as Att[];

describe('sandbox demo data', () => {
  it('is deterministic', () => {
    expect(demoForms()).toEqual(forms);
    expect(demoFiles()).toEqual(files);
  });

  it('registers every referenced attachment, by id and key, with a small size', () => {
    const byId = new Map(files.map((f) => [f.id, f]));
    const referenced = atts(forms);
    expect(referenced.length).toBeGreaterThan(10);
    for (const a of referenced) {
      const file = byId.get(a.fileId);
      expect(file?.key).toBe(a.key);
      expect(file?.fileName).toBe(a.fileName);
    }
    expect(new Set(referenced.map((a) => a.fileId))).toEqual(new Set(files.map((f) => f.id)));
    for (const f of files) {
      expect(f.size).toBeGreaterThanOrEqual(1024);
      expect(f.size).toBeLessThanOrEqual(300 * 1024);
    }
  });

  it('covers several form types with updateTimes over several days in 2026', () => {
    expect(forms.length).toBeGreaterThanOrEqual(8);
    expect(new Set(forms.map((f) => f.formType))).toEqual(
      new Set(['expense', 'loan', 'requisition', 'custom', 'payment']),
    );
    const days = new Set(forms.map((f) => new Date(f.updateTime!).toISOString().slice(0, 10)));
    expect(days.size).toBeGreaterThanOrEqual(3);
    expect(forms.every((f) => new Date(f.updateTime!).getUTCFullYear() === 2026)).toBe(true);
  });

  it('puts attachments in every place the contract names', () => {
    const places = {
      formAttachments: forms.flatMap((f) => atts(f.form?.attachments)),
      detailAttachments: forms.flatMap((f) =>
        ((f.form?.details as { feeTypeForm?: Record<string, unknown> }[]) ?? []).flatMap((d) =>
          atts(d.feeTypeForm?.attachments),
        ),
      ),
      invoiceAttachments: forms.flatMap((f) =>
        ((f.form?.details as { feeTypeForm?: { invoiceForm?: Record<string, unknown> } }[]) ?? []).flatMap(
          (d) => atts(d.feeTypeForm?.invoiceForm?.attachments),
        ),
      ),
      formCustomField: forms.flatMap((f) => atts(f.form?.u_附件)),
      detailCustomField: forms.flatMap((f) =>
        ((f.form?.details as { feeTypeForm?: Record<string, unknown> }[]) ?? []).flatMap((d) =>
          Object.entries(d.feeTypeForm ?? {})
            .filter(([k]) => k.startsWith('u_'))
            .flatMap(([, v]) => atts(v)),
        ),
      ),
      logs: forms.flatMap((f) => atts(f.logs)),
    };
    for (const [place, found] of Object.entries(places)) {
      expect(found.length, place).toBeGreaterThan(0);
    }
  });

  it('has DP: files, awkward names, both key shapes, a deleted form, a bare form and a shared file', () => {
    expect(files.filter((f) => f.key.startsWith('DP:')).length).toBeGreaterThanOrEqual(2);
    expect(files.some((f) => /[\u4e00-\u9fff]/.test(f.fileName))).toBe(true);
    expect(files.some((f) => f.fileName.includes(' '))).toBe(true);
    expect(files.some((f) => /[#%&+?=']/.test(f.fileName))).toBe(true);
    expect(
      files.some((f) =>
        /^openapi[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-.+/.test(f.key),
      ),
    ).toBe(true);
    expect(files.some((f) => /^.+-\d{13}-\d+\.[a-z]+$/.test(f.key))).toBe(true);
    expect(forms.filter((f) => f.active === false)).toHaveLength(1);
    expect(forms.some((f) => atts(f).length === 0)).toBe(true);
    const formsPerFile = new Map<string, Set<string>>();
    for (const f of forms) {
      for (const a of atts(f))
        formsPerFile.set(a.fileId, (formsPerFile.get(a.fileId) ?? new Set()).add(f.id));
    }
    expect([...formsPerFile.values()].some((s) => s.size >= 2)).toBe(true);
  });
});
