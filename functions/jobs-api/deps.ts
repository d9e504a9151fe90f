/** The jobs API's collaborators, built once per process from the parsed Config. */
import { jobInfrastructureFromConfig } from '../aws/job-infrastructure.js';
import type { Config } from '../config.js';
import type { BatchQueue, Logger, ManifestSource, ReportStore } from '../core/ports.js';
import { createLogger } from '../logger.js';

export interface JobsApiDeps {
  queue: BatchQueue;
  store: ReportStore;
  manifests: ManifestSource;
  logger: Logger;
  /** The archive bucket: the only one POST {"manifest"} may name. */
  bucket: string;
  /** Default object key template (config.objectKeyTemplate); a request may send its own. */
  keyTemplate: string;
  reportPrefix?: string;
  /** Most refs one POST may carry (default 10,000); more → 413. */
  maxRefs?: number;
  /** Largest raw body (default 5 MiB: a synchronous Lambda invocation carries at most 6 MB). */
  maxBodyBytes?: number;
  /** Time kept back from the Lambda deadline to answer (default 1.5 s). */
  deadlineMarginMs?: number;
  now?: () => Date;
  newJobId?: (now: Date) => string;
}

export function depsFromConfig(config: Config, logger?: Logger): JobsApiDeps {
  const log = logger ?? createLogger({ level: config.logLevel, service: 'jobs-api' });
  return {
    ...jobInfrastructureFromConfig(config, 'the jobs API'),
    logger: log,
    keyTemplate: config.objectKeyTemplate,
    reportPrefix: config.reportPrefix,
  };
}
