/** The resolve function's collaborators, built once per process from the parsed Config. */
import { createClientFromConfig } from '../aws/ekuaibao-client-factory.js';
import type { Config } from '../config.js';
import type { DownloadUrlResolver, Logger } from '../core/ports.js';
import { createLogger } from '../logger.js';

export interface ResolveHandlerDeps {
  resolver: DownloadUrlResolver;
  logger: Logger;
  /** Most refs one request may carry (config.resolveMaxRefs, default 5,000); more → 413. */
  maxRefs: number;
  /** Largest raw body accepted, bytes (default 2 MiB); more → 413. */
  maxBodyBytes?: number;
  /** Time kept back from the Lambda deadline to answer (default 1.5 s). */
  deadlineMarginMs?: number;
}

export function depsFromConfig(config: Config, logger?: Logger): ResolveHandlerDeps {
  const log = logger ?? createLogger({ level: config.logLevel, service: 'resolve' });
  return {
    resolver: createClientFromConfig(config, log),
    logger: log,
    maxRefs: config.resolveMaxRefs,
  };
}
