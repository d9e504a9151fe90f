/**
 * The one composition root (this folder): every adapter and service is built here, once per process, from the
 * config. The four handlers, the local stack and the CLI all take a Composition; the local stack and the CLI pass
 * overrides (their own queue, the sync's one-process state store, a metrics sink) instead of wiring anything.
 *
 * Providers are plain functions of the composition, memoized in it, and they live in one module per kind of
 * adapter (storage, 合思, copy, sync) because a bundle holds every module its handler imports: undici is CommonJS,
 * so esbuild cannot drop it from a module that merely imports it, and one compose.ts would put the 合思 client and
 * the downloader into the jobs API's bundle (+540 KiB). A new handler is a provider here and a createHandler.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CredentialsProvider } from '../aws/credentials.js';
import { type Config, loadConfig } from '../config.js';
import { AppError, ErrorCode } from '../core/errors.js';
import type { VerifyMessage } from '../core/model/verify.js';
import type { BatchQueue, Logger, ReportStore, VersionedStore, WorkQueue } from '../core/ports.js';
import type { SyncOptions } from '../core/sync/sync-options.js';
import { createLogger } from '../logger.js';
import type { MetricValue } from '../metrics.js';

export type MetricsSink = (values: Record<string, MetricValue>) => void;

/** What a caller may put in place of the deployed adapters. */
export interface CompositionOverrides {
  logger?: Logger;
  s3?: S3Client;
  /** The environment the S3 client reads its SDK settings from (the CLI's own; default process.env). */
  env?: Record<string, string | undefined>;
  /** The copy queue: the local queue on one machine, the CLI's in-process runner. */
  queue?: BatchQueue;
  reports?: ReportStore;
  /** The sync's compare-and-set store (s3rver has no conditional writes; the CLI keeps its state in memory). */
  syncState?: VersionedStore;
  credentials?: CredentialsProvider;
  secretsManager?: Pick<SecretsManagerClient, 'send'>;
  /** Where the copy function's metrics go (CloudWatch EMF on stdout by default). */
  metrics?: MetricsSink;
  /** Extra sync options (the local stack's window size). */
  syncOptions?: Partial<SyncOptions>;
  /** The verify queue (the local stack's). */
  verifyQueue?: WorkQueue<VerifyMessage>;
}

export class Composition {
  readonly #built = new Map<string, unknown>();
  readonly #closers: Array<() => Promise<unknown> | undefined> = [];
  readonly logger: Logger;

  constructor(
    readonly config: Config,
    readonly overrides: CompositionOverrides = {},
  ) {
    this.logger = overrides.logger ?? createLogger({ level: config.logLevel });
  }

  /** Builds `key` once; `close` (if given) runs when the composition closes. */
  once<T>(key: string, build: () => T, close?: (value: T) => Promise<unknown> | undefined): T {
    if (!this.#built.has(key)) {
      const value = build();
      this.#built.set(key, value);
      if (close) this.#closers.push(() => close(value));
    }
    return this.#built.get(key) as T;
  }

  /** Closes the clients and agents it built (not the overrides it was given). */
  async close(): Promise<void> {
    await Promise.allSettled(this.#closers.splice(0).map((c) => c()));
  }
}

export function compose(config: Config, overrides: CompositionOverrides = {}): Composition {
  return new Composition(config, overrides);
}

const byService = new Map<string, Composition>();

/** A deployed function's composition: the config from its environment, its logger named after it. */
export function fromEnvironment(service: string): Composition {
  let c = byService.get(service);
  if (!c) {
    const config = loadConfig();
    c = compose(config, { logger: createLogger({ level: config.logLevel, service }) });
    byService.set(service, c);
  }
  return c;
}

/** Throws a `misconfigured` AppError naming every missing key, for `who` (e.g. "the jobs API"). */
export function requireKeys(c: Composition, keys: Array<'EKB_BUCKET' | 'EKB_QUEUE_URL'>, who: string): void {
  const missing = keys.filter((k) => (k === 'EKB_BUCKET' ? !c.config.bucket : !c.config.queueUrl));
  if (missing.length > 0) {
    throw new AppError(ErrorCode.Misconfigured, `${missing.join(' and ')} must be set for ${who}`);
  }
}
