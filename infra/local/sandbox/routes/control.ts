/**
 * The sandbox's own control routes (no vendor equivalent; no token, no faults), so a person or another process
 * can play the tenant admin and the approvers against a running sandbox:
 * - `POST /_sandbox/outbound` body = SandboxOutboundConfig → 200 `{"value": <config without its url>}`;
 *   `DELETE /_sandbox/outbound` → 200 `{"value": null}`; `GET /_sandbox/outbound` → the config (no url) and
 *   every delivery so far. A config the vendor's console would refuse → 400 with the reason.
 * - `POST /_sandbox/forms/<flowId>/<action>` (submit, approve, pay, reject, withdraw, comment, delete; body
 *   optional `{"attachment": {"fileName", "size"}}`) → 200 `{"value": <form>}` and the outbound message;
 *   `POST /_sandbox/forms/<flowId>/change` (body optional SandboxFormChange) → 200 `{"value": <form>}`.
 *   Unknown or deleted form → 412 单据不存在或已删除; unknown action or bad body → 400.
 */
import { applyFormAction, FORM_ACTIONS } from '../form-actions.js';
import { parseJson, type RequestContext, sendApiError, sendJson, sendMethodNotAllowed } from '../http.js';
import type { SandboxState } from '../state.js';
import type { SandboxFormAction, SandboxOutboundConfig } from '../types.js';
import type { RouteSpec } from './route-spec.js';

export const CONTROL_PREFIX = '/_sandbox/';
const FORM_ROUTE = /^\/_sandbox\/forms\/([^/]+)\/([a-z]+)$/;

export const controlRoute: RouteSpec = {
  scope: undefined,
  matches: (pathname) => pathname.startsWith(CONTROL_PREFIX),
  handle(ctx, state) {
    const { pathname } = ctx.url;
    if (pathname === '/_sandbox/outbound') {
      outbound(ctx, state);
      return;
    }
    const m = FORM_ROUTE.exec(pathname);
    if (!m) {
      sendApiError(ctx, 404, `没有这个接口: ${pathname}`);
      return;
    }
    if (ctx.req.method !== 'POST') {
      sendMethodNotAllowed(ctx);
      return;
    }
    formEvent(ctx, state, decodeURIComponent(m[1] as string), m[2] as string);
  },
};

/** An optional JSON object body: {} when empty, undefined when present but not an object. */
function optionalObject(body: Buffer | undefined): Record<string, unknown> | undefined {
  if (!body || body.length === 0) return {};
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

function outbound(ctx: RequestContext, state: SandboxState): void {
  const method = ctx.req.method;
  if (method === 'GET') {
    sendJson(ctx, 200, {
      value: { config: state.outbound.describe(), deliveries: state.outbound.deliveries },
    });
  } else if (method === 'DELETE') {
    state.outbound.configure(undefined);
    sendJson(ctx, 200, { value: null });
  } else if (method === 'POST') {
    const config = optionalObject(ctx.body);
    if (!config || typeof config.url !== 'string') {
      sendApiError(ctx, 400, 'body must be a JSON object with at least "url"');
      return;
    }
    try {
      state.outbound.configure(config as unknown as SandboxOutboundConfig);
    } catch (error) {
      sendApiError(ctx, 400, (error as Error).message);
      return;
    }
    sendJson(ctx, 200, { value: state.outbound.describe() });
  } else {
    sendMethodNotAllowed(ctx);
  }
}

function formEvent(ctx: RequestContext, state: SandboxState, flowId: string, action: string): void {
  const body = optionalObject(ctx.body);
  if (!body) {
    sendApiError(ctx, 400, 'body must be empty or a JSON object');
    return;
  }
  if (action !== 'change' && !(FORM_ACTIONS as readonly string[]).includes(action)) {
    sendApiError(ctx, 400, `unknown action ${action}: one of change, ${FORM_ACTIONS.join(', ')}`);
    return;
  }
  const stored = state.forms.get(flowId);
  if (!stored || stored.deleted) {
    sendApiError(ctx, 412, '单据不存在或已删除');
    return;
  }
  const attachment = body.attachment as { fileName?: unknown; size?: unknown } | undefined;
  if (
    attachment !== undefined &&
    (typeof attachment?.fileName !== 'string' || !Number.isSafeInteger(attachment.size))
  ) {
    sendApiError(ctx, 400, 'attachment must be {"fileName": string, "size": integer}');
    return;
  }
  const spec = attachment
    ? { fileName: attachment.fileName as string, size: attachment.size as number }
    : undefined;
  if (action === 'change') {
    const title = typeof body.title === 'string' ? body.title : undefined;
    sendJson(ctx, 200, {
      value: state.changeForm(flowId, { ...(spec ? { attachment: spec } : {}), ...(title ? { title } : {}) }),
    });
    return;
  }
  const { form, message } = applyFormAction(
    state,
    flowId,
    action as SandboxFormAction,
    spec ? { attachment: spec } : {},
  );
  state.outbound.send(message);
  sendJson(ctx, 200, { value: form });
}
