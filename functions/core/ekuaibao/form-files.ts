/**
 * The form-package endpoints (vendor pages in ../shared/vendor-docs/): flowDetails/attachment (every file on a form
 * by role, ≤100 forms a call), INVOICE/search (invoice ids per form), INVOICE/url (invoice files) and getFlowsPdf
 * (the print PDF, streamed). Answers are read defensively and matched by id, never by position; the signed URLs in
 * them go to the caller and nowhere else (the debug line of a call carries route, status and counts only).
 */
import { ValidationError } from '../errors.js';
import {
  type FlowAttachments,
  type FlowFileEntry,
  type FlowsPdfAnswer,
  type InvoiceFile,
  type InvoiceOnForm,
  MAX_FLOW_IDS_PER_CALL,
} from '../model/form-files.js';
import type { FlowFileRole } from '../model/refs.js';
import type { Logger } from '../ports.js';
import { chunk } from '../util/chunk.js';
import type { CallResult, CallSpec } from './http-call.js';
import { badResponse, describeHttpError } from './upstream-errors.js';

const PATHS = {
  flowAttachments: '/api/openapi/v1/flowDetails/attachment',
  invoiceSearch: '/api/openapi/v2/extension/flow/INVOICE/search',
  invoiceUrls: '/api/openapi/v2/extension/INVOICE/url',
  flowsPdf: '/api/openapi/v1/flowDetails/getFlowsPdf/',
} as const;
/** No limit is documented for the invoice calls; 100 per call keeps their bodies modest. */
const MAX_INVOICE_IDS_PER_CALL = 100;
/** getFlowsPdf's 412 message when the forms (with their files) exceed 32 MB: "单据内容过大…". */
const TOO_LARGE = /内容过大|过大|too large|32M/i;

export interface FormFilesContext {
  authed(spec: CallSpec): Promise<CallResult>;
  log: Logger;
}

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;

function checkIds(name: string, ids: readonly string[]): void {
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id.trim() === '')) {
    throw new ValidationError(`${name} must be non-empty strings`);
  }
}

export async function getFlowAttachments(
  c: FormFilesContext,
  flowIds: readonly string[],
  signal?: AbortSignal,
): Promise<FlowAttachments[]> {
  checkIds('flowIds', flowIds);
  const out: FlowAttachments[] = [];
  for (const part of chunk([...new Set(flowIds)], MAX_FLOW_IDS_PER_CALL)) {
    const { status, body } = await c.authed({
      route: 'flowDetails/attachment',
      method: 'POST',
      path: PATHS.flowAttachments,
      json: { flowIds: part },
      counter: 'flowAttachmentCalls',
      // The documented answer when none of the asked forms exists is 400 单据不存在: nothing to list.
      passStatuses: [400],
      logFields: { items: part.length },
      ...(signal ? { signal } : {}),
    });
    if (status === 400) continue;
    const items = asObject(body)?.items ?? asObject(asObject(body)?.value)?.items;
    if (!Array.isArray(items)) throw badResponse('flowDetails/attachment', 'expected {items: [...]}');
    const wanted = new Set(part);
    for (const raw of items) {
      const flow = readFlow(raw);
      if (flow && wanted.has(flow.flowId)) out.push(flow);
    }
  }
  return out;
}

const ROLE_OF_TYPE: Record<string, FlowFileRole> = {
  'flow.body': 'body',
  'flow.free': 'fee',
  'flow.approving': 'approval',
  'flow.receipt': 'receipt',
};

function readFlow(raw: unknown): FlowAttachments | undefined {
  const o = asObject(raw);
  const flowId = text(o?.flowId);
  if (!o || !flowId) return undefined;
  const files: FlowFileEntry[] = [];
  const unnamed = new Map<FlowFileRole, number>();
  const add = (role: FlowFileRole, rawFile: unknown, freeId: string | undefined): void => {
    const f = asObject(rawFile);
    const url = text(f?.url);
    if (!f || !url) return;
    const key = text(f.key);
    const fileId = text(f.fileId);
    let item = key ?? fileId;
    if (item === undefined) {
      const n = (unnamed.get(role) ?? 0) + 1;
      unnamed.set(role, n);
      item = `#${n}`;
    }
    const entry: FlowFileEntry = { role, item, url };
    if (key !== undefined) entry.key = key;
    if (fileId !== undefined) entry.fileId = fileId;
    const fileName = text(f.fileName);
    if (fileName !== undefined) entry.fileName = fileName;
    if (freeId !== undefined) entry.freeId = freeId;
    if (role === 'invoice') {
      // Sic: the vendor's invoiceNumber field carries the 发票代码 and invoiceCode the 发票号码 (its own table says
      // so); put them right here, once, so nothing downstream repeats the swap.
      const invoice: { code?: string; number?: string } = {};
      const code = text(f.invoiceNumber);
      const number = text(f.invoiceCode);
      if (code !== undefined) invoice.code = code;
      if (number !== undefined) invoice.number = number;
      entry.invoice = invoice;
    }
    files.push(entry);
  };
  for (const rawEntry of Array.isArray(o.attachmentList) ? o.attachmentList : []) {
    const entry = asObject(rawEntry);
    const role = ROLE_OF_TYPE[String(entry?.type)];
    if (!entry || !role) continue;
    const freeId = text(entry.freeId);
    for (const f of Array.isArray(entry.attachmentUrls) ? entry.attachmentUrls : []) add(role, f, freeId);
    for (const f of Array.isArray(entry.invoiceUrls) ? entry.invoiceUrls : []) add('invoice', f, freeId);
    for (const f of Array.isArray(entry.receiptUrls) ? entry.receiptUrls : []) add('receipt', f, undefined);
  }
  const flow: FlowAttachments = { flowId, files };
  const flowCode = text(o.flowCode);
  if (flowCode !== undefined) flow.flowCode = flowCode;
  const fromType = text(o.fromType);
  if (fromType !== undefined) flow.fromType = fromType;
  return flow;
}

export async function searchInvoices(
  c: FormFilesContext,
  by: 'id' | 'code',
  values: readonly string[],
  signal?: AbortSignal,
): Promise<Map<string, InvoiceOnForm[]>> {
  if (by !== 'id' && by !== 'code') throw new ValidationError('searchInvoices: by must be "id" or "code"');
  checkIds('codeOrIds', values);
  const found = new Map<string, InvoiceOnForm[]>();
  for (const part of chunk([...new Set(values)], MAX_INVOICE_IDS_PER_CALL)) {
    const { body } = await c.authed({
      route: 'INVOICE/search',
      method: 'POST',
      path: PATHS.invoiceSearch,
      json: { type: by, codeOrIds: part },
      counter: 'invoiceSearchCalls',
      logFields: { items: part.length },
      ...(signal ? { signal } : {}),
    });
    const value = asObject(asObject(body)?.value);
    if (!value) throw badResponse('INVOICE/search', 'expected {value: {...}}');
    for (const wanted of part) {
      const list = value[wanted];
      if (!Array.isArray(list)) continue;
      const invoices: InvoiceOnForm[] = [];
      for (const raw of list) {
        const inv = asObject(raw);
        const invoiceId = text(inv?.invoiceId);
        if (!inv || !invoiceId) continue;
        const itemIds = Array.isArray(inv.invoiceItemId)
          ? inv.invoiceItemId.filter((x): x is string => typeof x === 'string')
          : [];
        const type = text(inv.invoiceType);
        invoices.push({ invoiceId, itemIds, ...(type === undefined ? {} : { type }) });
      }
      found.set(wanted, invoices);
    }
  }
  return found;
}

export async function getInvoiceUrls(
  c: FormFilesContext,
  invoiceIds: readonly string[],
  signal?: AbortSignal,
): Promise<InvoiceFile[]> {
  checkIds('invoiceId', invoiceIds);
  const out: InvoiceFile[] = [];
  for (const part of chunk([...new Set(invoiceIds)], MAX_INVOICE_IDS_PER_CALL)) {
    const { body } = await c.authed({
      route: 'INVOICE/url',
      method: 'POST',
      path: PATHS.invoiceUrls,
      json: { invoiceId: part },
      counter: 'invoiceUrlCalls',
      logFields: { items: part.length },
      ...(signal ? { signal } : {}),
    });
    const items = asObject(body)?.items;
    if (!Array.isArray(items)) throw badResponse('INVOICE/url', 'expected {items: [...]}');
    const wanted = new Set(part);
    for (const raw of items) {
      const o = asObject(raw);
      const id = text(o?.id);
      const url = text(o?.url);
      // Answers come in any order: matched by id, and an invoice answered twice is taken once.
      if (!o || !id || !url || !wanted.has(id)) continue;
      wanted.delete(id);
      const file: InvoiceFile = { id, url, crop: isCrop(url) };
      const fileName = text(o.fileName);
      if (fileName !== undefined) file.fileName = fileName;
      const source = text(o.source);
      if (source !== undefined) file.source = source;
      out.push(file);
    }
  }
  return out;
}

/** `x-oss-process=image/crop,…` (covered by the signature, so never edited): the link serves an OCR crop. */
function isCrop(url: string): boolean {
  try {
    return /^image\/crop\b/.test(new URL(url).searchParams.get('x-oss-process') ?? '');
  } catch {
    return false;
  }
}

export async function getFlowsPdf(
  c: FormFilesContext,
  flowIds: readonly string[],
  signal: AbortSignal,
): Promise<FlowsPdfAnswer> {
  checkIds('flowIds', flowIds);
  if (flowIds.length === 0) throw new ValidationError('getFlowsPdf needs at least one form id');
  const { status, stream, error, headers } = await c.authed({
    route: 'getFlowsPdf',
    method: 'GET',
    // Brackets as the vendor's page writes them: /getFlowsPdf/[id1,id2].
    path: `${PATHS.flowsPdf}[${flowIds.map(encodeURIComponent).join(',')}]`,
    counter: 'flowsPdfCalls',
    passStatuses: [412],
    stream: true,
    logFields: { items: flowIds.length },
    signal,
  });
  if (status === 412 || !stream) {
    const parsed = error ?? {};
    const message = describeHttpError('getFlowsPdf', status, parsed);
    const said = `${parsed.vendorMessage ?? ''} ${parsed.raw ?? ''}`;
    return { kind: 'refused', status, message, tooLarge: TOO_LARGE.test(said) };
  }
  const raw = headers?.['content-length'];
  const length = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : undefined;
  return {
    kind: 'pdf',
    body: stream,
    ...(length !== undefined && Number.isSafeInteger(length) ? { contentLength: length } : {}),
  };
}
