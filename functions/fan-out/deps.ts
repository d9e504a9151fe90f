/** The fan-out function's collaborators, built once per process from the parsed Config. */
import { jobInfrastructureFromConfig } from '../aws/job-infrastructure.js';
import type { Config } from '../config.js';
import type { BatchQueue, Logger, ManifestSource, ReportStore } from '../core/ports.js';
import { createLogger } from '../logger.js';

export interface FanOutDeps {
  queue: BatchQueue;
  store: ReportStore;
  manifests: ManifestSource;
  logger: Logger;
  /** The archive bucket: manifests elsewhere are not ours to read (the notification is scoped to it anyway). */
  bucket: string;
  /** Only keys under this prefix are manifests (default `manifests/`, as the S3 notification filter). */
  manifestsPrefix?: string;
  /** Object key template for manifest jobs (config.objectKeyTemplate). */
  keyTemplate: string;
  /** Where job records live (config.reportPrefix). */
  reportPrefix?: string;
  /** Time kept back from the Lambda deadline: queuing stops and the event is retried (default 20 s). */
  deadlineMarginMs?: number;
  now?: () => Date;
}

export function depsFromConfig(config: Config, logger?: Logger): FanOutDeps {
  const log = logger ?? createLogger({ level: config.logLevel, service: 'fan-out' });
  return {
    ...jobInfrastructureFromConfig(config, 'the fan-out function'),
    logger: log,
    keyTemplate: config.objectKeyTemplate,
    reportPrefix: config.reportPrefix,
    deadlineMarginMs: config.deadlineMarginMs,
  };
}
