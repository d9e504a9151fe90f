/** Plain fakes of the sync's ports: a forms source that filters like getApplyList, a job recorder, a clock. */

import type { ApplyListPage, ApplyListQuery, EkuaibaoForm } from '../../../../functions/core/model/forms.js';
import type { FormsSource } from '../../../../functions/core/ports.js';
import { parseChinaTime } from '../../../../functions/core/sync/china-time.js';
import type { SyncJobInput } from '../../../../functions/core/sync/run-sync.js';

export class FakeForms implements Pick<FormsSource, 'getApplyList'> {
  readonly forms = new Map<string, EkuaibaoForm>();
  readonly queries: ApplyListQuery[] = [];
  /** Called before each answer; may throw (a failing call) or change the forms (changes while paging). */
  beforeAnswer: ((q: ApplyListQuery, call: number) => void) | undefined;

  constructor(forms: EkuaibaoForm[] = []) {
    for (const f of forms) this.put(f);
  }

  put(form: EkuaibaoForm): void {
    this.forms.set(form.id, structuredClone(form));
  }

  async getApplyList(q: ApplyListQuery): Promise<ApplyListPage> {
    this.queries.push({ ...q, signal: undefined });
    this.beforeAnswer?.(q, this.queries.length);
    const from = q.startDate ? parseChinaTime(q.startDate) : undefined;
    const to = q.endDate ? parseChinaTime(q.endDate) : undefined;
    if ((q.startDate && from === undefined) || (q.endDate && to === undefined)) throw new Error('bad date');
    const matching = [...this.forms.values()]
      .filter((f) => f.formType === q.type)
      .filter((f) => (from === undefined ? true : (f.updateTime ?? 0) >= from))
      .filter((f) => (to === undefined ? true : (f.updateTime ?? 0) <= to + 999))
      .sort((a, b) => (a.updateTime ?? 0) - (b.updateTime ?? 0) || (a.id < b.id ? -1 : 1));
    return {
      count: matching.length,
      items: matching.slice(q.start, q.start + q.count).map((f) => structuredClone(f)),
    };
  }
}

export class JobRecorder {
  readonly jobs: SyncJobInput[] = [];
  failNext: Error | undefined;
  readonly startJob = async (input: SyncJobInput): Promise<{ jobId: string }> => {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    this.jobs.push(structuredClone(input));
    return { jobId: input.jobId };
  };

  get refs(): SyncJobInput['items'] {
    return this.jobs.flatMap((j) => j.items);
  }
}

export class FakeClock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export function ids(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

/** A form of the given type updated at the given epoch ms, with attachments in form.attachments. */
export function makeForm(
  id: string,
  formType: string,
  updateTime: number,
  files: Array<{ fileId: string; key: string; fileName?: string }> = [],
  extra: Partial<EkuaibaoForm> = {},
): EkuaibaoForm {
  return {
    id,
    code: `C-${id}`,
    formType,
    state: 'paid',
    active: true,
    updateTime,
    form: { code: `C-${id}`, title: id, attachments: files.map((f) => ({ ...f })) },
    logs: [],
    ...extra,
  };
}
