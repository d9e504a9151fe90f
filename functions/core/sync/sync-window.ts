/**
 * One sync window: every configured form type listed (list-forms.ts), each form handled once (windowForms), and
 * in files mode its attachments found and de-duplicated (listSyncWindow); in packages mode the forms go on to the
 * package job as they are listed. The counts are kept in a tally that only reaches the run's summary when the
 * window commits.
 */
import { listForms } from '../ekuaibao/list-forms.js';
import type { EkuaibaoForm } from '../model/forms.js';
import type { CopyRef } from '../model/refs.js';
import type { FormsSource, Logger } from '../ports.js';
import type { Sleep } from '../util/backoff.js';
import type { ResolvedSyncOptions } from './sync-options.js';
import { findFormAttachments, isDeletedForm } from './walk-form.js';

/** Template placeholders that make each form's copy of a file its own object. */
const FORM_PLACEHOLDERS = /\{(flowCode|flowId|formType)\}/;

/** Counters for one window; merged into the run's summary only when the window commits. */
export interface WindowTally {
  pages: number;
  forms: number;
  formsDeleted: number;
  formsWithoutAttachments: number;
  formsAlreadySeen: number;
  duplicates: number;
  invalidAttachments: number;
  formsInvalid: number;
  refs: CopyRef[];
  /** Packages mode: refs the window's package job queued, and what it did with the forms. */
  packageRefs: number;
  formsHeld: number;
  formsUnchanged: number;
  packagesQueued: number;
  /** [id, updateTime] of every form handled (the state's edge). */
  handled: Array<[string, number]>;
  formKeys: string[];
  refKeys: string[];
}

/** What earlier windows of this run (and the state's edge) already handled. */
export interface RunMemory {
  forms: Set<string>;
  refs: Set<string>;
}

export interface ListWindowInput {
  forms: Pick<FormsSource, 'getApplyList'>;
  opts: ResolvedSyncOptions;
  startDate: string;
  endDate: string;
  seen: RunMemory;
  sleep: Sleep;
  signal: AbortSignal | undefined;
  log: Logger;
  /** Filled as pages come in: a window abandoned part way still counts the pages it read. */
  tally: WindowTally;
}

export function newWindowTally(): WindowTally {
  return {
    pages: 0,
    forms: 0,
    formsDeleted: 0,
    formsWithoutAttachments: 0,
    formsAlreadySeen: 0,
    duplicates: 0,
    invalidAttachments: 0,
    formsInvalid: 0,
    refs: [],
    packageRefs: 0,
    formsHeld: 0,
    formsUnchanged: 0,
    packagesQueued: 0,
    handled: [],
    formKeys: [],
    refKeys: [],
  };
}

/**
 * Every form of the window once, as the pages come in: forms without an id and forms already handled (same id
 * and updateTime, in this window, an earlier one of the run, or the state's edge) are counted and left out.
 */
export async function* windowForms(input: ListWindowInput): AsyncGenerator<EkuaibaoForm> {
  const { opts, tally, seen, log } = input;
  const windowSeen = new Set<string>();
  for (const type of opts.formTypes) {
    const forms = listForms(
      input.forms,
      {
        type,
        startDate: input.startDate,
        endDate: input.endDate,
        pageSize: opts.pageSize,
        pauseMs: opts.pagePauseMs,
        // Repeats are counted here (formsAlreadySeen), so the listing hands every one on.
        dedupe: false,
        onPage: () => {
          tally.pages += 1;
        },
        ...(input.signal ? { signal: input.signal } : {}),
      },
      input.sleep,
    );
    for await (const form of forms) {
      if (typeof form?.id !== 'string' || form.id === '') {
        tally.formsInvalid += 1;
        log.warn('getApplyList returned a form without an id; skipped', { formType: form?.formType });
        continue;
      }
      const updateTime = typeof form.updateTime === 'number' ? form.updateTime : undefined;
      const formKey = `${form.id}\u0000${updateTime ?? ''}`;
      if (updateTime !== undefined && (seen.forms.has(formKey) || windowSeen.has(formKey))) {
        tally.formsAlreadySeen += 1;
        continue;
      }
      windowSeen.add(formKey);
      tally.formKeys.push(formKey);
      tally.forms += 1;
      if (updateTime !== undefined) tally.handled.push([form.id, updateTime]);
      if (isDeletedForm(form)) tally.formsDeleted += 1;
      yield form;
    }
  }
}

/** Files mode: lists the whole window into `input.tally`, each form's attachments as refs. */
export async function listSyncWindow(input: ListWindowInput): Promise<void> {
  const onForm = formHandler(input);
  for await (const form of windowForms(input)) onForm(form);
}

function formHandler(input: ListWindowInput): (form: EkuaibaoForm) => void {
  const { tally, seen, log, opts } = input;
  const perForm = FORM_PLACEHOLDERS.test(opts.keyTemplate);
  const windowRefs = new Set<string>();
  return (form) => {
    if (isDeletedForm(form) && !opts.includeDeletedForms) return;
    const found = findFormAttachments(form);
    if (found.invalid.length > 0) {
      tally.invalidAttachments += found.invalid.length;
      log.warn('form has attachment objects with an empty fileId or key; they are not queued', {
        flowId: form.id,
        flowCode: found.vars.flowCode,
        problems: found.invalid.slice(0, 10),
      });
    }
    if (found.refs.length === 0) {
      tally.formsWithoutAttachments += 1;
      return;
    }
    for (const ref of found.refs) {
      // With form placeholders in the template each form keeps its own copy of a shared file.
      const refKey = `${ref.id}\u0000${ref.key}${perForm ? `\u0000${form.id}` : ''}`;
      if (seen.refs.has(refKey) || windowRefs.has(refKey)) {
        tally.duplicates += 1;
        continue;
      }
      windowRefs.add(refKey);
      tally.refKeys.push(refKey);
      tally.refs.push(ref);
    }
  };
}
