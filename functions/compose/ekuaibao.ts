/** The 合思 side: credentials (env or Secrets Manager) and the one client per process; the resolve function's deps. */
import { type CredentialsProvider, credentialsFromConfig } from '../aws/credentials.js';
import { createEkuaibaoClient, type EkuaibaoClient } from '../core/ekuaibao/client.js';
import type { Logger } from '../core/ports.js';
import type { Composition } from './composition.js';

export const credentials = (c: Composition): CredentialsProvider =>
  c.overrides.credentials ??
  c.once('credentials', () =>
    credentialsFromConfig(
      c.config,
      c.overrides.secretsManager ? { secretsManager: c.overrides.secretsManager } : {},
    ),
  );

/** The 合思 client: one per process (one token cache), whoever asks. */
export function ekuaibaoClient(c: Composition): EkuaibaoClient {
  return c.once(
    'ekuaibao',
    () => {
      const provider = credentials(c);
      return createEkuaibaoClient({
        baseUrl: c.config.ekbBaseUrl,
        credentials: () => provider.get(),
        // A refused secret may have been rotated: drop the cache so the client's one re-read sees the new value.
        onCredentialsRejected: () => provider.invalidate(),
        resolveConcurrency: c.config.resolveConcurrency,
        maxAttempts: c.config.ekbMaxAttempts,
        connectTimeoutMs: c.config.ekbConnectTimeoutMs,
        requestTimeoutMs: c.config.ekbRequestTimeoutMs,
        logger: c.logger,
      });
    },
    (client) => client.close(),
  );
}

export function resolveHandlerDeps(c: Composition, logger: Logger = c.logger) {
  return { resolver: ekuaibaoClient(c), logger, maxRefs: c.config.resolveMaxRefs };
}
