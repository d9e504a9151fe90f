/**
 * Approval events on the sandbox's forms (submit, approve, pay, reject, withdraw, comment, delete): the new state,
 * updateTime and log entry, and the outbound message 合思 would send about it (`flowId`, `action`, `actionName`,
 * `nodeId`, `state`, `userInfo`, `currentApprovers`, plus the form's `code`). The notification names for
 * withdraw and delete are the sandbox's (the vendor lists 单据撤回 and 单据删除 as events without naming them).
 */
import { createHash } from 'node:crypto';
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';
import { presentForm } from './forms.js';
import type { OutboundMessage } from './outbound.js';
import type { SandboxState } from './state.js';
import type { SandboxFormAction } from './types.js';

export const FORM_ACTIONS: readonly SandboxFormAction[] = [
  'submit',
  'approve',
  'pay',
  'reject',
  'withdraw',
  'comment',
  'delete',
];

/** The demo tenant's people: the submitter, the approver, and finance (who pays). */
const PEOPLE: Record<string, { name: string; cellphone: string; email: string }> = {
  'sandbox:u001': { name: '张三', cellphone: '13100000001', email: 'u001@sandbox.invalid' },
  'sandbox:u002': { name: '李四', cellphone: '13100000002', email: 'u002@sandbox.invalid' },
  'sandbox:u003': { name: '王五', cellphone: '13100000003', email: 'u003@sandbox.invalid' },
};
const APPROVER = 'sandbox:u002';
const CASHIER = 'sandbox:u003';
/** Forms that are paid after approval; the others are complete once approved. */
const PAID_TYPES = new Set(['expense', 'loan', 'payment']);

interface Rule {
  state: string;
  log: string;
  notice: string;
  noticeName: string;
  /** Who acts, and who the message is for. */
  operator: string;
  receiver: string;
}

function ruleFor(action: SandboxFormAction, form: EkuaibaoForm, submitter: string): Rule {
  const paid = { state: 'paid', notice: 'flow.paid', noticeName: '已支付/审批完成' };
  switch (action) {
    case 'submit':
      return {
        state: 'approving',
        log: 'freeflow.submit',
        notice: 'backlog.approving',
        noticeName: '待审批',
        operator: submitter,
        receiver: APPROVER,
      };
    case 'approve':
      return PAID_TYPES.has(form.formType ?? '')
        ? {
            state: 'paying',
            log: 'freeflow.agree',
            notice: 'backlog.paying',
            noticeName: '待支付',
            operator: APPROVER,
            receiver: CASHIER,
          }
        : { ...paid, log: 'freeflow.agree', operator: APPROVER, receiver: submitter };
    case 'pay':
      return { ...paid, log: 'freeflow.pay', operator: CASHIER, receiver: submitter };
    case 'reject':
      return {
        state: 'rejected',
        log: 'freeflow.reject',
        notice: 'flow.rejected',
        noticeName: '被驳回',
        operator: APPROVER,
        receiver: submitter,
      };
    case 'withdraw':
      return {
        state: 'draft',
        log: 'freeflow.retract',
        notice: 'freeflow.retract',
        noticeName: '单据撤回',
        operator: submitter,
        receiver: APPROVER,
      };
    case 'comment':
      return {
        state: form.state ?? '',
        log: 'freeflow.comment',
        notice: 'freeflow.comment',
        noticeName: '评论',
        operator: APPROVER,
        receiver: submitter,
      };
    case 'delete':
      return {
        state: form.state ?? '',
        log: 'freeflow.delete',
        notice: 'freeflow.delete',
        noticeName: '单据删除',
        operator: submitter,
        receiver: APPROVER,
      };
  }
}

function person(id: string): Record<string, string> {
  const p = PEOPLE[id] ?? { name: id, cellphone: '', email: '' };
  return { id: `sandboxCorp0001:${id}`, ...p };
}

/** A stable node id per form and step, shaped like the vendor's (a UUID). */
function nodeIdOf(flowId: string, step: number): string {
  const h = createHash('sha256').update(`${flowId}\u0000${step}`).digest('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Applies the event to a live form and returns the form as now shown and the message about it. A comment may
 * carry an attachment (registered, and placed on the new log entry).
 */
export function applyFormAction(
  state: SandboxState,
  flowId: string,
  action: SandboxFormAction,
  options: { attachment?: { fileName: string; size: number } } = {},
): { form: EkuaibaoForm; message: OutboundMessage } {
  if (!FORM_ACTIONS.includes(action)) throw new RangeError(`unknown form action ${String(action)}`);
  const stored = state.forms.get(flowId);
  if (!stored || stored.deleted) throw new RangeError(`sandbox has no live form ${flowId}`);
  const form = stored.form;
  const submitter = typeof form.form?.submitterId === 'string' ? form.form.submitterId : 'sandbox:u001';
  const rule = ruleFor(action, form, submitter);
  const now = state.now();
  const logs = Array.isArray(form.logs) ? form.logs : [];
  const attachments = options.attachment ? [state.newAttachment(flowId, options.attachment)] : [];
  form.logs = [...logs, { action: rule.log, time: now, operatorId: rule.operator, attachments }];
  if (action === 'delete') {
    // As deleteForm: the form is gone, its updateTime kept.
    stored.deleted = true;
  } else {
    form.state = rule.state;
    form.updateTime = Math.max(now, (form.updateTime ?? 0) + 1);
  }
  const nodeId = nodeIdOf(flowId, form.logs.length);
  const body = {
    flowId,
    code: form.code ?? '',
    nodeId,
    state: rule.state,
    action: rule.notice,
    actionName: rule.noticeName,
    userInfo: person(rule.receiver),
    currentApprovers: [{ id: person(rule.operator).id, name: person(rule.operator).name }],
  };
  return {
    form: presentForm(stored),
    message: { flowId, action: rule.notice, nodeId, nodeName: rule.noticeName, body },
  };
}
