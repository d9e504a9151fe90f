/**
 * The scheduled sync as fan-out's hook for an EventBridge "Scheduled Event": job creation on fan-out's own queue
 * and report store, the invocation's time limits, and the event's identity on the log lines (compose.ts wires it).
 *
 * The state store is the choice that matters: in AWS the lock needs S3's conditional writes (one state object,
 * PutObject If-None-Match / If-Match), which hold across concurrent Lambdas. The local stack uses the same store:
 * its embedded S3 honours those headers (infra/local/conditional-writes.ts).
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { fallbackLanes, type Lanes } from '../core/attachments/lanes.js';
import { refsJobStarter } from '../core/jobs/create-job.js';
import { archivedIn } from '../core/packages/form-archive-job.js';
import { createPackageJob } from '../core/packages/package-job.js';
import type {
  BatchQueue,
  FormPackageSource,
  FormsSource,
  Logger,
  ReportStore,
  VersionedStore,
} from '../core/ports.js';
import { type PackageSyncJobInput, runSync, type SyncDeps, type SyncSummary } from '../core/sync/run-sync.js';
import { type SyncConfig, type SyncOptions, syncOptionsFromConfig } from '../core/sync/sync-options.js';

export interface ScheduledSyncDeps {
  forms: Pick<FormsSource, 'getApplyList'>;
  /** The 合思 client's form-package calls: the sync archives form packages (EKB_SYNC_MODE=packages). */
  packageSource?: FormPackageSource;
  state: VersionedStore;
  queue: BatchQueue;
  store: ReportStore;
  logger: Logger;
  /** Where job records live (config.reportPrefix). */
  reportPrefix?: string;
  /** The bucket's lanes (config); default: the sync template's root plus attachments/ and forms/. */
  lanes?: Lanes;
  /** Extra options (tests, the local stack: page pause, window size, state key). */
  options?: Partial<SyncOptions>;
  now?: () => number;
}

export type ScheduledSyncHook = (
  event: ScheduledEvent,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  signal?: AbortSignal,
) => Promise<SyncSummary>;

/** The sync's package job: the window's forms planned and queued as packages; quiet windows leave no job. */
function packageJobStarter(
  config: SyncConfig & { packageStates: readonly string[] },
  deps: ScheduledSyncDeps,
  source: FormPackageSource,
  signal: AbortSignal | undefined,
): NonNullable<SyncDeps['startPackageJob']> {
  return async (input: PackageSyncJobInput) => {
    const forms = (async function* () {
      for await (const form of input.forms) yield { form };
    })();
    const { record } = await createPackageJob(
      { jobId: input.jobId, source: input.source, forms, recordEmpty: false },
      {
        plan: {
          source,
          states: config.packageStates,
          archived: archivedIn(deps.store),
          ...(signal ? { signal } : {}),
        },
        queue: deps.queue,
        store: deps.store,
        logger: deps.logger,
        ...(deps.reportPrefix === undefined ? {} : { reportPrefix: deps.reportPrefix }),
        ...(signal ? { signal } : {}),
      },
    );
    return {
      jobId: record?.jobId,
      refs: record?.counts.refs ?? 0,
      queued: record?.packages?.queued ?? 0,
      held: record?.packages?.held ?? 0,
      unchanged: record?.packages?.unchanged ?? 0,
    };
  };
}

export function createScheduledSync(
  config: SyncConfig & { packageStates: readonly string[] },
  deps: ScheduledSyncDeps,
): ScheduledSyncHook {
  const startJob = refsJobStarter({
    queue: deps.queue,
    store: deps.store,
    logger: deps.logger,
    lanes: deps.lanes ?? fallbackLanes(config.syncObjectKeyTemplate, deps.reportPrefix),
    ...(deps.reportPrefix === undefined ? {} : { reportPrefix: deps.reportPrefix }),
  });
  return async (event, context, signal) => {
    const log = deps.logger.child({ scheduledEventId: event.id, scheduledTime: event.time });
    const remaining = context.getRemainingTimeInMillis?.bind(context);
    const options = {
      ...syncOptionsFromConfig(config, {
        ...(remaining ? { remainingMs: remaining } : {}),
        ...(signal ? { signal } : {}),
      }),
      ...deps.options,
    };
    // runSync logs its own result line; this hook only adds the event's identity to it.
    return runSync(options, {
      forms: deps.forms,
      state: deps.state,
      startJob,
      ...(deps.packageSource
        ? { startPackageJob: packageJobStarter(config, deps, deps.packageSource, signal) }
        : {}),
      logger: log,
      ...(deps.now ? { now: deps.now } : {}),
    });
  };
}
