/**
 * A real, minimal PDF of forms (one A4 page each, Helvetica text): what getFlowsPdf streams in place of the
 * vendor's print template. Deterministic for a given state of the forms (no creation date, no random ids), so
 * a changed form prints to different bytes and an unchanged one to the same.
 */
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';

/** Standard-14 fonts hold Latin-1 only: other characters print as `?` (the ids, codes and dates are ASCII). */
function pdfText(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?');
  return `(${ascii.replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

function pageLines(form: EkuaibaoForm): string[] {
  const f = form.form ?? {};
  const amount = [f.expenseMoney, f.loanMoney, f.payMoney]
    .map((m) => (m && typeof m === 'object' ? (m as { standard?: unknown }).standard : undefined))
    .find((v) => typeof v === 'string');
  return [
    `Form ${form.code ?? ''} (${form.id})`,
    `Type: ${form.formType ?? ''}    State: ${form.state ?? ''}`,
    `Submitter: ${String(f.submitterId ?? '')}`,
    `Updated: ${typeof form.updateTime === 'number' ? new Date(form.updateTime).toISOString() : ''}`,
    `Amount: ${amount ?? '-'}`,
    `Approval steps: ${Array.isArray(form.logs) ? form.logs.length : 0}`,
  ];
}

/** The PDF of these forms, one page each, in the order given. */
export function formsPdf(forms: EkuaibaoForm[]): Buffer {
  const objects: string[] = [];
  const add = (body: string): number => {
    objects.push(body);
    return objects.length;
  };
  const catalog = add('');
  const pages = add('');
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  const kids: number[] = [];
  for (const form of forms) {
    const text = pageLines(form)
      .map((line, i) => `BT /F1 12 Tf 56 ${780 - i * 20} Td ${pdfText(line)} Tj ET`)
      .join('\n');
    const content = add(`<< /Length ${Buffer.byteLength(text, 'latin1')} >>\nstream\n${text}\nendstream`);
    kids.push(
      add(
        `<< /Type /Page /Parent ${pages} 0 R /MediaBox [0 0 595 842] ` +
          `/Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${content} 0 R >>`,
      ),
    );
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pages} 0 R >>`;
  objects[pages - 1] =
    `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`;
  const info = add(
    `<< /Title ${pdfText(forms.map((f) => f.id).join(','))} /Producer (ekb-archive sandbox) >>`,
  );

  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R /Info ${info} 0 R >>\n`;
  out += `startxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
