/**
 * Which forms are sealed into a package: only those in a final state, so a draft or a form still in approval
 * (which will change) is recorded and left for a later run. 合思's states: draft 草稿, pending 提交中, approving 审批中,
 * rejected 已驳回, paying 待支付, PROCESSING 支付中, paid 已支付/审批完成 (the state of every form whose approval is
 * complete, paid or needing no payment), archived 已归档. Configurable (EKB_PACKAGE_STATES).
 */
import type { EkuaibaoForm } from '../model/forms.js';

export const DEFAULT_PACKAGE_STATES: readonly string[] = ['paid', 'archived'];

export type Archivability = { ok: true } | { ok: false; reason: string };

export function archivability(form: EkuaibaoForm, states: readonly string[]): Archivability {
  if (form.active === false || form.state === 'deleted') return { ok: false, reason: 'deleted in 合思' };
  if (typeof form.updateTime !== 'number' || !Number.isSafeInteger(form.updateTime)) {
    return { ok: false, reason: 'no updateTime to name a package version by' };
  }
  const state = typeof form.state === 'string' ? form.state : '';
  if (!states.includes(state)) {
    return {
      ok: false,
      reason: `state ${state === '' ? '(none)' : state} is not archived (archived states: ${states.join(', ')})`,
    };
  }
  return { ok: true };
}
