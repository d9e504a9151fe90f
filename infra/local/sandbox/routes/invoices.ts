/**
 * The invoice calls:
 * - `POST /api/openapi/v2/extension/flow/INVOICE/search` `{"type": "id"|"code", "codeOrIds": [...]}` →
 *   `{"value": {"<id or code as sent>": [{invoiceId, invoiceItemId[], invoiceType}]}}`; forms that are unknown,
 *   deleted or carry no invoice are absent, so nothing found is `{"value": {}}`; another type → 400
 *   `不支持此类型type=<type>`.
 * - `POST /api/openapi/v2/extension/INVOICE/url` `{"invoiceId": [...]}` → `{"items": [{id, url, thumbUrl,
 *   source, fileName, region}]}` with one-hour OSS-style links: images are served as their OCR crop
 *   (`x-oss-process=image/crop,…`, covered by the signature) with `thumbUrl` = `url`; PDF, OFD and XML (the
 *   signed original of a 数电票) have an empty `thumbUrl`. Unknown invoices and those whose original cannot be
 *   produced are absent; answers come in reverse request order (the vendor's own example reorders them).
 */
import { formInvoices, liveFormsFor } from '../form-package.js';
import { parseJson, sendApiError, sendJson, sendMethodNotAllowed } from '../http.js';
import { ossStyleUrl, packageUrlDeadline } from '../package-urls.js';
import type { SandboxState } from '../state.js';
import type { SandboxInvoice } from '../types.js';
import { authorize } from './auth.js';
import { exactPaths, type RouteSpec } from './route-spec.js';

export const INVOICE_PATHS = {
  search: '/api/openapi/v2/extension/flow/INVOICE/search',
  url: '/api/openapi/v2/extension/INVOICE/url',
} as const;

function bodyObject(body: Buffer | undefined): Record<string, unknown> | undefined {
  const parsed = parseJson(body);
  if (
    !parsed.ok ||
    parsed.value === null ||
    typeof parsed.value !== 'object' ||
    Array.isArray(parsed.value)
  ) {
    return undefined;
  }
  return parsed.value as Record<string, unknown>;
}

function stringArray(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
}

export const invoiceSearchRoute: RouteSpec = {
  scope: 'invoiceSearch',
  matches: exactPaths(INVOICE_PATHS.search),
  handle(ctx, state) {
    state.stats.invoiceSearchCalls += 1;
    if (ctx.req.method !== 'POST') {
      sendMethodNotAllowed(ctx);
      return;
    }
    if (!authorize(ctx, state)) return;
    const body = bodyObject(ctx.body);
    if (!body) {
      sendApiError(ctx, 400, '请求体必须是 JSON 对象 {"type", "codeOrIds"}');
      return;
    }
    if (body.type !== 'id' && body.type !== 'code') {
      sendApiError(ctx, 400, `不支持此类型type=${String(body.type)}`);
      return;
    }
    const wanted = stringArray(body.codeOrIds);
    if (!wanted) {
      sendApiError(ctx, 400, 'codeOrIds 必须是字符串数组');
      return;
    }
    const live = liveFormsFor(state, 'invoiceSearch');
    const byCode = new Map([...state.forms.values()].map((s) => [s.form.code, s.form.id]));
    const value: Record<string, unknown[]> = {};
    for (const wantedId of wanted) {
      const id = body.type === 'id' ? wantedId : byCode.get(wantedId);
      const stored = id === undefined ? undefined : live(id);
      if (!stored) continue;
      const invoices = formInvoices(stored.form).map(({ invoiceId, itemIds }) => ({
        invoiceId,
        invoiceItemId: itemIds,
        invoiceType: state.invoices.get(invoiceId)?.type ?? 'invoice',
      }));
      if (invoices.length > 0) value[wantedId] = invoices;
    }
    sendJson(ctx, 200, { value });
  },
};

export const invoiceUrlsRoute: RouteSpec = {
  scope: 'invoiceUrls',
  matches: exactPaths(INVOICE_PATHS.url),
  handle(ctx, state) {
    state.stats.invoiceUrlCalls += 1;
    if (ctx.req.method !== 'POST') {
      sendMethodNotAllowed(ctx);
      return;
    }
    if (!authorize(ctx, state)) return;
    const ids = stringArray(bodyObject(ctx.body)?.invoiceId);
    if (!ids) {
      sendApiError(ctx, 400, '请求体必须是 JSON 对象 {"invoiceId": [发票ID, ...]}');
      return;
    }
    const lost = state.faults.take('invoiceUnavailable', 'invoiceUrls');
    const deadline = packageUrlDeadline(state);
    const items: Record<string, unknown>[] = [];
    for (const id of new Set(ids)) {
      const invoice = state.invoices.get(id);
      if (!invoice || invoice.unavailable) continue;
      if (lost && (lost.invoiceId === undefined || lost.invoiceId === id)) continue;
      items.push(invoiceItem(state, invoice, deadline));
    }
    items.reverse();
    sendJson(ctx, 200, { items });
  },
};

/** The crop an image invoice is served as (undefined for PDF, OFD and XML). */
export function invoiceProcess(state: SandboxState, invoice: SandboxInvoice): string | undefined {
  const object = state.objects.get(invoice.file.key);
  return object?.contentType.startsWith('image/') ? invoice.file.crop : undefined;
}

function invoiceItem(
  state: SandboxState,
  invoice: SandboxInvoice,
  deadline: number,
): Record<string, unknown> {
  const object = state.objects.get(invoice.file.key);
  const image = object?.contentType.startsWith('image/') === true;
  const url = ossStyleUrl(state, invoice.file.key, deadline, invoiceProcess(state, invoice));
  return {
    id: invoice.id,
    url,
    thumbUrl: image ? url : '',
    source: invoice.source,
    fileName: invoice.file.fileName,
    region: [...invoice.region],
  };
}
