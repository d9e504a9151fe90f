/**
 * `GET /api/openapi/v1/flowDetails/getFlowsPdf/[id1,id2]` → the forms' print PDF (application/pdf, named by form
 * id). The forms must all be one employee's; their content (attachments and invoice files included) over the
 * limit (vendor: 32 MB; `flowsPdfMaxBytes`) → 412 `单据内容过大，…:[ids]`. Choices where the vendor's
 * behaviour is unknown: an unknown or deleted form → 412 naming it; forms of several employees → 412; a path
 * that is not `[ids]` (brackets plain or percent-encoded) → 400; several ids → one file named `id1,id2.pdf`.
 */
import type { EkuaibaoForm } from '../../../../functions/core/model/forms.js';
import { contentBytes, liveFormsFor, submitterOf } from '../form-package.js';
import { formsPdf } from '../form-pdf.js';
import { sendApiError, sendBytes, sendMethodNotAllowed } from '../http.js';
import type { SandboxState } from '../state.js';
import { authorize } from './auth.js';
import type { RouteSpec } from './route-spec.js';

export const FLOWS_PDF_PREFIX = '/api/openapi/v1/flowDetails/getFlowsPdf/';

export const flowsPdfRoute: RouteSpec = {
  scope: 'flowsPdf',
  matches: (pathname) => pathname.startsWith(FLOWS_PDF_PREFIX),
  handle(ctx, state) {
    state.stats.flowsPdfCalls += 1;
    if (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD') {
      sendMethodNotAllowed(ctx);
      return;
    }
    if (!authorize(ctx, state)) return;
    const ids = parseIds(ctx.url.pathname.slice(FLOWS_PDF_PREFIX.length));
    if (!ids) {
      sendApiError(ctx, 400, 'ids 格式必须是 [单据ID,单据ID]');
      return;
    }
    const result = printable(state, ids);
    if (typeof result === 'string') {
      sendApiError(ctx, 412, result);
      return;
    }
    const pdf = formsPdf(result);
    sendBytes(ctx, 200, pdf, 'application/pdf', {
      'content-disposition': `attachment; filename="${ids.join(',')}.pdf"`,
    });
  },
};

/** `[a,b]` (brackets possibly percent-encoded, spaces around ids allowed) → ids; undefined when malformed. */
export function parseIds(raw: string): string[] | undefined {
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  const m = /^\[(.*)\]$/.exec(text.trim());
  if (!m) return undefined;
  const ids = (m[1] as string).split(',').map((s) => s.trim());
  return ids.length > 0 && ids.every((id) => id !== '') ? ids : undefined;
}

/** The forms to print, or the 412 message saying why not. */
function printable(state: SandboxState, ids: string[]): EkuaibaoForm[] | string {
  const live = liveFormsFor(state, 'flowsPdf');
  const stored = ids.map((id) => ({ id, stored: live(id) }));
  const missing = stored.filter((s) => !s.stored).map((s) => s.id);
  if (missing.length > 0) return `单据不存在或已删除:[${missing.join(',')}]`;
  const forms = stored.map((s) => s.stored!);
  if (new Set(forms.map((s) => submitterOf(s.form))).size > 1) return '打印的单据必须所属于同一员工';
  const bytes = forms.reduce((sum, s) => sum + contentBytes(state, s), 0);
  const tooLarge = state.faults.take('pdfTooLarge', 'flowsPdf');
  if (tooLarge || bytes > state.flowsPdfMaxBytes) {
    return `单据内容过大，请减少单据生成条数据，生成pdf文件出错:[${ids.join(',')}]`;
  }
  return forms.map((s) => s.form);
}
