/**
 * What an accounting archive keeps about a form beside its files (会计档案: the document and its metadata): code,
 * type, title, submitter, department, amounts, dates, state and the approval trail, read from the form's JSON as
 * 合思 gives it. Fields 合思 does not document are read defensively: a missing one is left out, never guessed.
 */
import type { EkuaibaoForm } from '../model/forms.js';
import type { ApprovalStep, PackageFormSummary } from '../model/package.js';

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' ? String(v) : undefined;

function iso(v: unknown): string | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** A person or department field: a plain id, or an object with a name and/or id. */
function who(v: unknown): string | undefined {
  const o = asObject(v);
  if (!o) return text(v);
  const name = text(o.name);
  const id = text(o.id);
  return name && id ? `${name} (${id})` : (name ?? id);
}

export function summarizeForm(
  form: EkuaibaoForm,
  fallback: { code: string; formType: string; state: string },
): PackageFormSummary {
  const f = asObject(form.form) ?? {};
  const summary: PackageFormSummary = {
    id: String(form.id),
    code: text(form.code) ?? text(f.code) ?? fallback.code,
    type: text(form.formType) ?? fallback.formType,
    state: text(form.state) ?? fallback.state,
    amounts: amountsOf(f),
    updateTime: iso(form.updateTime) ?? '',
  };
  const title = text(f.title);
  if (title) summary.title = title;
  const submitter = who(f.submitterId) ?? who(f.submitter);
  if (submitter) summary.submitter = submitter;
  const department = who(f.expenseDepartment) ?? who(f.departmentId) ?? who(f.department);
  if (department) summary.department = department;
  const created = iso(form.createTime);
  if (created) summary.createTime = created;
  const submitted = iso(f.submitDate);
  if (submitted) summary.submitDate = submitted;
  return summary;
}

/** Every `…Money` field of the form (expenseMoney, loanMoney, payMoney, requisitionMoney, …). */
function amountsOf(f: Json): PackageFormSummary['amounts'] {
  const out: PackageFormSummary['amounts'] = [];
  for (const [field, value] of Object.entries(f)) {
    if (!/Money$/.test(field)) continue;
    const m = asObject(value);
    const amount = text(m?.standard) ?? text(value);
    if (amount === undefined) continue;
    const currency = text(m?.standardStrCode);
    out.push({ field, amount, ...(currency === undefined ? {} : { currency }) });
  }
  return out;
}

export function approvalTrail(form: EkuaibaoForm): ApprovalStep[] {
  const logs = Array.isArray(form.logs) ? form.logs : [];
  return logs.map((raw) => {
    const l = asObject(raw) ?? {};
    const step: ApprovalStep = {
      action: text(l.action) ?? 'unknown',
      attachments: Array.isArray(l.attachments) ? l.attachments.length : 0,
    };
    const time = iso(l.time);
    if (time) step.time = time;
    const operator = who(l.operatorId) ?? who(l.operator);
    if (operator) step.operator = operator;
    const comment = text(asObject(l.attributes)?.comment) ?? text(l.comment);
    if (comment) step.comment = comment;
    return step;
  });
}
