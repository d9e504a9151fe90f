/**
 * `POST /api/openapi/v1/flowDetails/attachment` `{"flowIds": [≤100]}` → `{"items": [{flowId, flowCode,
 * attachmentList, fromType}]}`, every file on each form by role, with ready one-hour URLs:
 * - `flow.body` the form's own attachments; `flow.free` one entry per fee detail with files (`freeId` = fee
 *   type): its attachments, and `invoiceUrls` whose `invoiceNumber` holds the 发票代码 and `invoiceCode` the
 *   发票号码 (the vendor's field names are swapped; null when the invoice has none); `flow.approving` the approval
 *   log's (and comments') attachments; `flow.receipt` bank receipts: `{url, key}` only, no fileId.
 * - URLs mix two host shapes (OSS-style `files-dd` for `openapi…` keys, `?e=&token=` `vipimg` otherwise).
 * Choices where the vendor's behaviour is unknown: unknown and deleted forms are absent, and when none of the
 * asked forms exists the answer is the documented 400 单据不存在; DP: (DingTalk drive) attachments are left out
 * (this call cannot carry the headers their download needs: downloadurls resolves them); an invoice whose
 * original cannot be produced lists no file; roles without files are left out.
 */

import {
  type AttachmentRef,
  approvalAttachments,
  bodyAttachments,
  feeDetails,
  liveFormsFor,
} from '../form-package.js';
import type { StoredForm } from '../forms.js';
import { parseJson, sendApiError, sendJson, sendMethodNotAllowed } from '../http.js';
import { packageUrlDeadline, storedObjectUrl } from '../package-urls.js';
import type { SandboxState } from '../state.js';
import { authorize } from './auth.js';
import { exactPaths, type RouteSpec } from './route-spec.js';

export const FLOW_ATTACHMENTS_PATH = '/api/openapi/v1/flowDetails/attachment';
/** "最大不允许超过 100 个单据查询". */
const MAX_FLOW_IDS = 100;

export const flowAttachmentsRoute: RouteSpec = {
  scope: 'flowAttachments',
  matches: exactPaths(FLOW_ATTACHMENTS_PATH),
  handle(ctx, state) {
    state.stats.flowAttachmentCalls += 1;
    if (ctx.req.method !== 'POST') {
      sendMethodNotAllowed(ctx);
      return;
    }
    if (!authorize(ctx, state)) return;
    const flowIds = parseFlowIds(ctx.body);
    if (typeof flowIds === 'string') {
      sendApiError(ctx, 400, flowIds);
      return;
    }
    const live = liveFormsFor(state, 'flowAttachments');
    const deadline = packageUrlDeadline(state);
    const items = [...new Set(flowIds)]
      .map(live)
      .filter((s): s is StoredForm => s !== undefined)
      .map((stored) => formItem(state, stored, deadline));
    if (items.length === 0) {
      sendApiError(ctx, 400, '单据不存在');
      return;
    }
    sendJson(ctx, 200, { items });
  },
};

function parseFlowIds(body: Buffer | undefined): string[] | string {
  const parsed = parseJson(body);
  if (
    !parsed.ok ||
    parsed.value === null ||
    typeof parsed.value !== 'object' ||
    Array.isArray(parsed.value)
  ) {
    return '请求体必须是 JSON 对象 {"flowIds": [...]}';
  }
  const flowIds = (parsed.value as Record<string, unknown>).flowIds;
  if (!Array.isArray(flowIds) || flowIds.length === 0) return 'flowIds 必须是非空数组';
  if (flowIds.length > MAX_FLOW_IDS) {
    return `flowIds 最大不允许超过 ${MAX_FLOW_IDS} 个单据, 收到 ${flowIds.length} 个`;
  }
  const bad = flowIds.findIndex((id) => typeof id !== 'string' || id === '');
  if (bad >= 0) return `flowIds 第 ${bad} 项必须是非空字符串`;
  return flowIds as string[];
}

function formItem(state: SandboxState, stored: StoredForm, deadline: number): Record<string, unknown> {
  const { form } = stored;
  const attachmentList: Record<string, unknown>[] = [];
  const body = attachmentUrls(state, bodyAttachments(form), deadline);
  if (body.length > 0) attachmentList.push({ type: 'flow.body', attachmentUrls: body });
  for (const detail of feeDetails(form)) {
    const attachments = attachmentUrls(state, detail.attachments, deadline);
    const invoices = invoiceUrls(state, detail.invoiceIds, deadline);
    if (attachments.length === 0 && invoices.length === 0) continue;
    attachmentList.push({
      type: 'flow.free',
      freeId: detail.feeTypeId,
      attachmentUrls: attachments,
      invoiceUrls: invoices,
    });
  }
  const approving = attachmentUrls(state, approvalAttachments(form), deadline);
  if (approving.length > 0) attachmentList.push({ type: 'flow.approving', attachmentUrls: approving });
  const receipts = (state.receipts.get(form.id) ?? []).map((r) => ({
    url: storedObjectUrl(state, r.key, deadline),
    key: r.key,
  }));
  if (receipts.length > 0) attachmentList.push({ type: 'flow.receipt', receiptUrls: receipts });
  return { flowId: form.id, flowCode: form.code ?? '', attachmentList, fromType: form.formType ?? '' };
}

function attachmentUrls(
  state: SandboxState,
  refs: AttachmentRef[],
  deadline: number,
): Record<string, unknown>[] {
  const seen = new Set<string>();
  const out: Record<string, unknown>[] = [];
  for (const ref of refs) {
    if (ref.key.startsWith('DP:') || seen.has(`${ref.fileId}\u0000${ref.key}`)) continue;
    seen.add(`${ref.fileId}\u0000${ref.key}`);
    out.push({
      key: ref.key,
      url: storedObjectUrl(state, ref.key, deadline),
      fileId: ref.fileId,
      fileName: ref.fileName ?? state.files.get(ref.fileId)?.fileName ?? ref.key,
    });
  }
  return out;
}

function invoiceUrls(state: SandboxState, invoiceIds: string[], deadline: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const id of invoiceIds) {
    const invoice = state.invoices.get(id);
    if (!invoice || invoice.unavailable) continue;
    const { file } = invoice;
    out.push({
      key: file.key,
      url: storedObjectUrl(state, file.key, deadline),
      ...(file.fileId ? { fileId: file.fileId } : {}),
      fileName: file.fileName,
      // Sic: the vendor's invoiceNumber carries the 发票代码 and invoiceCode the 发票号码.
      invoiceNumber: invoice.code ?? null,
      invoiceCode: invoice.number ?? null,
    });
  }
  return out;
}
