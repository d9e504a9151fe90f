/**
 * The FormArchiver on the form-package path (the sync's path in EKB_SYNC_MODE=packages): a form-archive request
 * for the one form, written under manifests/form-archives/ as POST /form-archives writes it, so fan-out plans
 * and archives its package exactly as for the sync, and recognises a version already archived by its package
 * index (nothing is queued again). 合思 is not called here: fan-out reads the form, and a form it does not know
 * becomes a bad line of the job, named in its report.
 */
import { formArchiveRequestKey, type StoredFormArchiveRequest } from '../packages/form-request.js';
import type { FormArchiver, ReportStore } from '../ports.js';
import { hookJobId } from './keys.js';

export function requestFormArchiver(deps: { store: ReportStore; now: () => number }): FormArchiver {
  return {
    async startFormArchive({ flowId, via, eventId }) {
      const jobId = hookJobId(via, flowId, eventId);
      const key = formArchiveRequestKey(jobId);
      // A start retried after a failed note finds its request: writing it again would start fan-out again.
      if ((await deps.store.getJson(key)) === undefined) {
        const stored: StoredFormArchiveRequest = {
          v: 1,
          jobId,
          requestedAt: new Date(deps.now()).toISOString(),
          request: { kind: 'ids', ids: [flowId] },
          origin: { via, flowId },
        };
        await deps.store.putJson(key, stored);
      }
      return { outcome: 'queued', jobId };
    },
  };
}
