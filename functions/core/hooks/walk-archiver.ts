/**
 * The FormArchiver on the sync's file walk: the form read from flowDetails, its attachments found as the sync
 * finds them (walk-form.ts), and queued as one copy job under the sync's key template, so a pushed form's files
 * land where the sync would have put them and the copy worker's identity check skips files already there.
 *
 * The form-archive request path (form packages) replaces this by writing a request under
 * manifests/form-archives/ instead; the receiving route and the replay do not change.
 */
import type { JobRecord } from '../model/job.js';
import type { CopyRef } from '../model/refs.js';
import type { FormArchiver, FormsSource } from '../ports.js';
import { findFormAttachments, isDeletedForm } from '../sync/walk-form.js';
import { hookJobId } from './keys.js';

export interface WalkArchiverDeps {
  forms: Pick<FormsSource, 'getFlowDetails'>;
  /** refsJobStarter bound to the copy queue and the report store. */
  startJob(input: {
    jobId: string;
    source: JobRecord['source'];
    items: CopyRef[];
    keyTemplate: string;
  }): Promise<JobRecord>;
  /** The sync's key template (EKB_SYNC_OBJECT_KEY_TEMPLATE). */
  keyTemplate: string;
}

export function walkFormArchiver(deps: WalkArchiverDeps): FormArchiver {
  return {
    async startFormArchive({ flowId, via, eventId }, signal) {
      const form = await deps.forms.getFlowDetails({ flowId }, signal);
      if (!form) return { outcome: 'unknown_form' };
      // As the sync: a deleted form's files are not archived again (EKB's includeDeletedForms is sync-only).
      if (isDeletedForm(form)) return { outcome: 'nothing_to_archive' };
      const { refs } = findFormAttachments(form);
      if (refs.length === 0) return { outcome: 'nothing_to_archive' };
      const record = await deps.startJob({
        jobId: hookJobId(via, flowId, eventId),
        source: { kind: 'hook', via, flowId },
        items: refs,
        keyTemplate: deps.keyTemplate,
      });
      return { outcome: 'queued', jobId: record.jobId };
    },
  };
}
