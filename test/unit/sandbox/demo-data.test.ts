import { describe, expect, it } from 'vitest';
import { demoFiles, demoForms, VENDOR_PAGE_FILES } from '../../../infra/local/sandbox/demo-data.js';
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
    // Small, except the vendor page's DP: file, which is as large as its key says (asserted below).
    for (const f of files.filter((f) => f.id !== VENDOR_PAGE_FILES.dp.id)) {
      expect(f.size).toBeGreaterThanOrEqual(1024);
      expect(f.size).toBeLessThanOrEqual(300 * 1024);
    }
  });

  it("holds the vendor page's two files with the page's exact ids and keys, and no other file reuses the ids", () => {
    // Copied from seed-attachment-download.md's curl body, not built from VENDOR_PAGE_FILES.
    const pageDocx = {
      id: '61sbwX3DEAgk00',
      key: 'openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin简介.docx',
    };
    const pageDp = {
      id: '136634573449',
      key: 'DP:{"fileId":"136634437985","fileName":"128163bbba83.jpg","fileSize":2985928,"fileType":"jpg","spaceId":"7215288789"}',
    };
    const docx = files.find((f) => f.id === pageDocx.id);
    const dp = files.find((f) => f.id === pageDp.id);
    expect(docx).toMatchObject({ key: pageDocx.key, fileName: 'kotlin简介.docx' });
    expect(dp).toMatchObject({ key: pageDp.key, fileName: '128163bbba83.jpg', size: 2_985_928 });
    const ids = files.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    const innerIds = files
      .filter((f) => f.key.startsWith('DP:'))
      .map((f) => (JSON.parse(f.key.slice(3)) as { fileId: string }).fileId);
    expect(new Set(innerIds).size).toBe(innerIds.length);
    expect(new Set(files.map((f) => f.key)).size).toBe(files.length);
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
