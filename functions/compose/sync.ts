/** The scheduled sync hook fan-out runs for EventBridge's schedule, and fan-out's form-archive requests. */
import { createS3VersionedStore } from '../aws/s3-versioned-store.js';
import { lanesOf } from '../config.js';
import type { Logger } from '../core/ports.js';
import type { FormArchiveFanOutDeps } from '../fan-out/form-archive-request.js';
import { createScheduledSync, type ScheduledSyncHook } from '../fan-out/scheduled-sync.js';
import { type Composition, requireKeys } from './composition.js';
import { ekuaibaoClient } from './ekuaibao.js';
import { batchQueue, reportStore, s3Client } from './storage.js';

/** The scheduled sync on fan-out's own queue and report store; its state behind S3 conditional writes. */
export function scheduledSync(c: Composition, logger: Logger = c.logger): ScheduledSyncHook {
  requireKeys(c, ['EKB_BUCKET'], 'the scheduled sync');
  return c.once('sync', () =>
    createScheduledSync(c.config, {
      forms: ekuaibaoClient(c),
      packageSource: ekuaibaoClient(c),
      state:
        c.overrides.syncState ??
        createS3VersionedStore({ client: s3Client(c), bucket: c.config.bucket as string }),
      queue: batchQueue(c, 'the scheduled sync'),
      store: reportStore(c, 'the scheduled sync'),
      logger,
      reportPrefix: c.config.reportPrefix,
      lanes: lanesOf(c.config),
      ...(c.overrides.syncOptions ? { options: c.overrides.syncOptions } : {}),
    }),
  );
}

/** Requests under manifests/form-archives/ (POST /form-archives): planned with the 合思 client. */
export function formArchiveDeps(c: Composition): FormArchiveFanOutDeps {
  return { source: ekuaibaoClient(c), states: c.config.packageStates };
}
