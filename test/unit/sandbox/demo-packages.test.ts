import { describe, expect, it } from 'vitest';
import { DEMO_INVOICE_IDS, demoForms } from '../../../infra/local/sandbox/demo-data.js';
import { demoInvoices, demoReceipts } from '../../../infra/local/sandbox/demo-packages.js';
import { contentTypeOf } from '../../../infra/local/sandbox/download-meta.js';
import { formInvoices, submitterOf } from '../../../infra/local/sandbox/form-package.js';

const forms = demoForms();
const invoices = demoInvoices();

describe('sandbox demo form packages', () => {
  it('is deterministic', () => {
    expect(demoInvoices()).toEqual(invoices);
    expect(demoReceipts()).toEqual(demoReceipts());
  });

  it('every invoice a demo form points at exists, and every demo invoice is on a live form', () => {
    const referenced = forms.filter((f) => f.active !== false).flatMap((f) => formInvoices(f));
    const ids = new Set(invoices.map((i) => i.id));
    for (const r of referenced) expect(ids.has(r.invoiceId), r.invoiceId).toBe(true);
    expect(new Set(referenced.map((r) => r.invoiceId))).toEqual(ids);
    expect(new Set(Object.values(DEMO_INVOICE_IDS))).toEqual(ids);
    expect(new Set(invoices.map((i) => i.file.key)).size).toBe(invoices.length);
  });

  it('has invoices as XML, PDF, OFD and cropped images, one whose original cannot be produced', () => {
    const types = invoices.map((i) => contentTypeOf(i.file));
    expect(types).toEqual(
      expect.arrayContaining([
        'application/xml',
        'application/pdf',
        'application/ofd',
        'image/jpeg',
        'image/png',
      ]),
    );
    expect(invoices.filter((i) => i.file.crop).every((i) => contentTypeOf(i.file).startsWith('image/'))).toBe(
      true,
    );
    expect(invoices.filter((i) => i.unavailable)).toHaveLength(1);
    // A 数电票 has a number and no code; a VAT invoice both.
    expect(invoices.find((i) => i.id === DEMO_INVOICE_IDS.hotelXml)?.code).toBeUndefined();
    expect(invoices.find((i) => i.id === DEMO_INVOICE_IDS.meetingPdf)?.code).toMatch(/^\d{12}$/);
  });

  it('puts receipts on paid forms only, and forms in several states from more than one employee', () => {
    const byId = new Map(forms.map((f) => [f.id, f]));
    for (const flowId of Object.keys(demoReceipts())) expect(byId.get(flowId)?.state).toBe('paid');
    expect(new Set(forms.map((f) => f.state))).toEqual(
      new Set(['draft', 'approving', 'paid', 'archived', 'rejected']),
    );
    expect(new Set(forms.map(submitterOf)).size).toBeGreaterThan(1);
    expect(
      forms.some((f) => (f.logs as { action: string }[]).some((l) => l.action === 'freeflow.comment')),
    ).toBe(true);
  });
});
