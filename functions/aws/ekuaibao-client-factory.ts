/** Builds the 合思 client from the parsed Config: tenant URL, limits, timeouts, and the credentials adapter. */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config.js';
import { createEkuaibaoClient, type EkuaibaoClient } from '../core/ekuaibao/client.js';
import type { Logger } from '../core/ports.js';
import { type CredentialsProvider, credentialsFromConfig } from './credentials.js';

export interface ClientFactoryDeps {
  /** Use these credentials instead of the ones the config names (tests, the local stack). */
  credentials?: CredentialsProvider;
  secretsManager?: Pick<SecretsManagerClient, 'send'>;
}

export function createClientFromConfig(
  config: Config,
  logger: Logger,
  deps: ClientFactoryDeps = {},
): EkuaibaoClient {
  const provider =
    deps.credentials ??
    credentialsFromConfig(config, deps.secretsManager ? { secretsManager: deps.secretsManager } : {});
  return createEkuaibaoClient({
    baseUrl: config.ekbBaseUrl,
    credentials: () => provider.get(),
    // A refused secret may have been rotated: drop the cache so the client's one re-read sees the new value.
    onCredentialsRejected: () => provider.invalidate(),
    resolveConcurrency: config.resolveConcurrency,
    maxAttempts: config.ekbMaxAttempts,
    connectTimeoutMs: config.ekbConnectTimeoutMs,
    requestTimeoutMs: config.ekbRequestTimeoutMs,
    logger,
  });
}
