/**
 * Outbound messages (出站消息): the receiving route's deps, the replay the scheduled run does, and the one port
 * both hand a form to (`formArchiver`). The port is the switch between the two archive paths: the sync's file
 * walk (below) until form packages land, then the form-archive request path; nothing else changes.
 */

import { hookSecretFromSecretsManager } from '../aws/hook-secret.js';
import { createS3VersionedStore } from '../aws/s3-versioned-store.js';
import { AppError, ErrorCode } from '../core/errors.js';
import { type ReplaySummary, replayFailedDeliveries } from '../core/hooks/replay-failures.js';
import { requestFormArchiver } from '../core/hooks/request-archiver.js';
import { walkFormArchiver } from '../core/hooks/walk-archiver.js';
import { refsJobStarter } from '../core/jobs/create-job.js';
import type { FormArchiver, Logger, VersionedStore } from '../core/ports.js';
import { emitMetrics } from '../metrics.js';
import { type Composition, type MetricsSink, requireKeys } from './composition.js';
import { ekuaibaoClient } from './ekuaibao.js';
import { batchQueue, reportStore, s3Client } from './storage.js';

/** hooks/ records behind compare-and-set (S3 conditional writes in AWS; the local stack's one-process store). */
export function hookStore(c: Composition): VersionedStore {
  requireKeys(c, ['EKB_BUCKET'], 'the outbound-message hooks');
  return (
    c.overrides.syncState ??
    c.once('hookStore', () =>
      createS3VersionedStore({ client: s3Client(c), bucket: c.config.bucket as string }),
    )
  );
}

/**
 * The port that starts one form's archive, on the sync's own path: a form-archive request (form packages) when
 * the sync archives packages (EKB_SYNC_MODE=packages, the default), else the file walk as one copy job.
 */
export function formArchiver(c: Composition, logger: Logger = c.logger): FormArchiver {
  if (c.config.syncMode === 'packages') {
    return c.once('formArchiver', () =>
      requestFormArchiver({ store: reportStore(c, 'the outbound-message hooks'), now: Date.now }),
    );
  }
  return c.once('formArchiver', () =>
    walkFormArchiver({
      forms: ekuaibaoClient(c),
      startJob: refsJobStarter({
        queue: batchQueue(c, 'the outbound-message hooks'),
        store: reportStore(c, 'the outbound-message hooks'),
        logger,
        reportPrefix: c.config.reportPrefix,
      }),
      keyTemplate: c.config.syncObjectKeyTemplate,
    }),
  );
}

function hookSecret(c: Composition): () => Promise<string> {
  if (c.overrides.hookSecret) return c.overrides.hookSecret;
  const id = c.config.hookSecret;
  if (!id) throw new AppError(ErrorCode.Misconfigured, 'EKB_HOOK_SECRET must name the hook secret');
  return c.once('hookSecret', () => hookSecretFromSecretsManager(id, c.overrides.secretsManager));
}

export function hookHandlerDeps(c: Composition, logger: Logger = c.logger) {
  const sink: MetricsSink =
    c.overrides.metrics ?? ((values) => emitMetrics(values, { dimensions: { Function: 'hooks' } }));
  return {
    secret: hookSecret(c),
    store: hookStore(c),
    archiver: formArchiver(c, logger),
    now: Date.now,
    logger,
    actions: c.config.hookActions,
    dedupeMinutes: c.config.hookDedupeMinutes,
    maxBodyBytes: c.config.hookMaxBodyBytes,
    metric: (name: string) => sink({ [name]: { value: 1, unit: 'Count' } }),
  };
}

/** The replay the scheduled run does before its sync; undefined when no message type is configured. */
export function hookReplay(
  c: Composition,
  logger: Logger = c.logger,
): ((signal?: AbortSignal) => Promise<ReplaySummary>) | undefined {
  if (c.config.hookReplayMessageTypes.length === 0) return undefined;
  return (signal) =>
    replayFailedDeliveries({
      source: ekuaibaoClient(c),
      store: hookStore(c),
      archiver: formArchiver(c, logger),
      now: Date.now,
      logger,
      actions: c.config.hookActions,
      messageTypes: c.config.hookReplayMessageTypes,
      lookbackHours: c.config.hookReplayLookbackHours,
      ...(signal ? { signal } : {}),
    });
}
