/**
 * One outbound message (出站消息) as 合思 POSTs it: a JSON object with the fields the tenant admin picked. Only
 * `flowId` is required; `action` (notification events: `flow.paid`, `flow.rejected`, …), `state` and `nodeId`
 * are read when present. Nothing else in the body is trusted or kept: the message is a hint that form X may have
 * changed, and the archive path reads the form itself from the Open API.
 */
import { TooLargeError, ValidationError } from '../errors.js';

/** 合思's messages carry a few chosen fields (a few KiB at most); anything far larger is not one of them. */
export const DEFAULT_HOOK_MAX_BODY_BYTES = 64 * 1024;
/** Form ids as 合思 issues them (`ID01owxnkQ3pXx`, `ID_3kPq8Xz1a01`): letters, digits and a few separators. */
const FLOW_ID = /^[A-Za-z0-9][A-Za-z0-9_:.$-]{0,127}$/;
/** Actions and states are short words (`flow.paid`, `backlog.approving`, `paid`); longer is not theirs. */
const WORD = /^[A-Za-z0-9_:.$-]{1,64}$/;

export interface OutboundEvent {
  flowId: string;
  /** Notification events only (E-Bot messages have none). */
  action?: string;
  /** The form's state as 合思 said it, when the admin picked the field. */
  state?: string;
  nodeId?: string;
}

function word(o: Record<string, unknown>, field: 'action' | 'state' | 'nodeId'): string | undefined {
  const v = o[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || !WORD.test(v)) {
    throw new ValidationError(`"${field}" must be a short word of letters, digits and _ : . $ -`);
  }
  return v;
}

/**
 * The event in `body` (the raw request body, already base64-decoded), or a ValidationError (400) naming the field,
 * or a TooLargeError (413) past `maxBytes`.
 */
export function parseOutboundEvent(body: Buffer, maxBytes = DEFAULT_HOOK_MAX_BODY_BYTES): OutboundEvent {
  if (body.length > maxBytes) {
    throw new TooLargeError(`the message is ${body.length} bytes; at most ${maxBytes} are accepted`);
  }
  if (body.length === 0) throw new ValidationError('the body is empty: expected a JSON object with "flowId"');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ValidationError('the body is not JSON: expected a JSON object with "flowId"');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ValidationError('the body must be a JSON object with "flowId"');
  }
  const o = parsed as Record<string, unknown>;
  const flowId = o.flowId;
  if (typeof flowId !== 'string' || flowId.trim() === '') {
    throw new ValidationError('"flowId" is missing: pick the field 单据ID (flowId) in the outbound message');
  }
  if (!FLOW_ID.test(flowId.trim())) {
    throw new ValidationError('"flowId" must be a 合思 form id (letters, digits and _ : . $ -, at most 128)');
  }
  const action = word(o, 'action');
  const state = word(o, 'state');
  const nodeId = word(o, 'nodeId');
  return {
    flowId: flowId.trim(),
    ...(action ? { action } : {}),
    ...(state ? { state } : {}),
    ...(nodeId ? { nodeId } : {}),
  };
}
