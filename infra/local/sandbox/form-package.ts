/**
 * Reading a stored form the way the form-package calls do: its own attachments (flow.body), each fee detail's
 * attachments and invoices (flow.free), the approval log's attachments (flow.approving), the invoices it points
 * at, who submitted it, and how large its content is for getFlowsPdf's limit.
 */
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';
import { findAttachmentObjects, type StoredForm } from './forms.js';
import type { SandboxState } from './state.js';
import type { SandboxInvoice } from './types.js';

export interface AttachmentRef {
  fileId: string;
  key: string;
  fileName?: string;
}

export interface FeeDetail {
  feeTypeId: string;
  attachments: AttachmentRef[];
  invoiceIds: string[];
}

type Json = Record<string, unknown>;

const asRecord = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});

function refsIn(value: unknown): AttachmentRef[] {
  return findAttachmentObjects(value).map((o) => ({
    fileId: o.fileId as string,
    key: o.key as string,
    ...(typeof o.fileName === 'string' ? { fileName: o.fileName } : {}),
  }));
}

function detailsOf(form: EkuaibaoForm): Json[] {
  const details = form.form?.details;
  return Array.isArray(details) ? details.map(asRecord) : [];
}

/** The form's own attachments: anywhere in `form` except its detail lines (form.attachments, u_附件, …). */
export function bodyAttachments(form: EkuaibaoForm): AttachmentRef[] {
  const { details: _details, ...rest } = form.form ?? {};
  return refsIn(rest);
}

/** Each detail line's attachments (its own, custom fields, photos kept as invoice attachments) and invoices. */
export function feeDetails(form: EkuaibaoForm): FeeDetail[] {
  return detailsOf(form).map((detail) => {
    const feeTypeForm = asRecord(detail.feeTypeForm);
    const invoices = asRecord(feeTypeForm.invoiceForm).invoices;
    const invoiceIds = (Array.isArray(invoices) ? invoices : [])
      .map((i) => asRecord(i).invoiceId)
      .filter((id): id is string => typeof id === 'string' && id !== '');
    return {
      feeTypeId: typeof detail.feeTypeId === 'string' ? detail.feeTypeId : '',
      attachments: refsIn(feeTypeForm),
      invoiceIds,
    };
  });
}

/** Attachments on the approval log (approval and comment attachments). */
export function approvalAttachments(form: EkuaibaoForm): AttachmentRef[] {
  return refsIn(form.logs);
}

/** The invoices a form points at, with the item ids each detail names, in detail order. */
export function formInvoices(form: EkuaibaoForm): { invoiceId: string; itemIds: string[] }[] {
  const out: { invoiceId: string; itemIds: string[] }[] = [];
  for (const detail of detailsOf(form)) {
    const invoices = asRecord(asRecord(detail.feeTypeForm).invoiceForm).invoices;
    for (const entry of Array.isArray(invoices) ? invoices.map(asRecord) : []) {
      if (typeof entry.invoiceId !== 'string' || entry.invoiceId === '') continue;
      const itemIds = Array.isArray(entry.itemIds)
        ? entry.itemIds.filter((x): x is string => typeof x === 'string')
        : [];
      out.push({ invoiceId: entry.invoiceId, itemIds });
    }
  }
  return out;
}

export function submitterOf(form: EkuaibaoForm): string {
  const id = form.form?.submitterId;
  return typeof id === 'string' ? id : '';
}

/** The bytes a print of the form would pull in: its attachments' files and its invoices' files. */
export function contentBytes(state: SandboxState, stored: StoredForm): number {
  let total = 0;
  const seen = new Set<string>();
  for (const ref of refsIn(stored.form)) {
    if (seen.has(ref.fileId)) continue;
    seen.add(ref.fileId);
    total += state.files.get(ref.fileId)?.size ?? 0;
  }
  for (const { invoiceId } of formInvoices(stored.form)) {
    const invoice: SandboxInvoice | undefined = state.invoices.get(invoiceId);
    total += invoice?.file.size ?? 0;
  }
  return total;
}

/**
 * Live forms by id for one call: unknown, deleted and `vanishedForm`-struck forms are absent. The fault fires
 * at most once per call (it is one request's race, not a property of the form).
 */
export function liveFormsFor(
  state: SandboxState,
  route: 'flowDetails' | 'flowAttachments' | 'invoiceSearch' | 'flowsPdf',
): (id: string) => StoredForm | undefined {
  const vanished = state.faults.take('vanishedForm', route);
  return (id) => {
    const stored = state.forms.get(id);
    if (!stored || stored.deleted) return undefined;
    if (vanished && (vanished.flowId === undefined || vanished.flowId === id)) return undefined;
    return stored;
  };
}
