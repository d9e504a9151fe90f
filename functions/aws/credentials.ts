/**
 * Where 合思 app credentials come from: EKB_APP_KEY/EKB_APP_SECURITY (local, CLI), else a Secrets Manager secret
 * holding {"appKey","appSecurity"}, read once per process and re-read after 合思 refuses it (rotation).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config.js';
import { AppError, ValidationError } from '../core/errors.js';
import type { EkuaibaoCredentials } from '../core/ports.js';
import { cachedUntilFailure } from '../core/util/cached-promise.js';

export interface CredentialsProvider {
  /** Resolves the credentials (cached). Rejects with a clear error when none are configured or readable. */
  get(): Promise<EkuaibaoCredentials>;
  /** Drops the cached secret so the next get() reads it again (call after 合思 refuses the credentials). */
  invalidate(): void;
  /** Which source is in use; safe to log. */
  readonly source: 'env' | 'secret' | 'none';
}

export interface CredentialsDeps {
  secretsManager?: Pick<SecretsManagerClient, 'send'>;
}

export const NO_CREDENTIALS_MESSAGE =
  'no 合思 credentials: set EKB_APP_KEY and EKB_APP_SECURITY, or EKB_CREDENTIALS_SECRET';

type CredentialsConfig = Pick<Config, 'ekbAppKey' | 'ekbAppSecurity' | 'ekbCredentialsSecret'>;

export function credentialsFromConfig(
  config: CredentialsConfig,
  deps: CredentialsDeps = {},
): CredentialsProvider {
  const { ekbAppKey: appKey, ekbAppSecurity: appSecurity, ekbCredentialsSecret: secretId } = config;

  if (appKey !== undefined || appSecurity !== undefined) {
    if (appKey === undefined || appSecurity === undefined) {
      const missing = appKey === undefined ? 'EKB_APP_KEY' : 'EKB_APP_SECURITY';
      const message = `${NO_CREDENTIALS_MESSAGE} (${missing} is missing while its partner is set)`;
      return { source: 'none', get: () => Promise.reject(new ValidationError(message)), invalidate() {} };
    }
    const creds = { appKey, appSecurity };
    return { source: 'env', get: async () => creds, invalidate() {} };
  }

  if (secretId === undefined) {
    // Lazy: a function without credentials can still start, and every call answers with this clear error.
    return {
      source: 'none',
      get: () => Promise.reject(new ValidationError(NO_CREDENTIALS_MESSAGE)),
      invalidate() {},
    };
  }

  let client = deps.secretsManager;
  const load = async (): Promise<EkuaibaoCredentials> => {
    client ??= new SecretsManagerClient({});
    let secretString: string | undefined;
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      secretString = out.SecretString;
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error';
      const meta = (err as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown }) ?? {};
      const httpStatus = meta.$metadata?.httpStatusCode;
      throw new AppError(
        'ekuaibao_credentials_unavailable',
        `could not read the 合思 credentials secret "${secretId}" (${name})`,
        {
          status: 500,
          retryable: meta.$retryable !== undefined || (httpStatus !== undefined && httpStatus >= 500),
          details: { secretId, errorName: name, httpStatus },
        },
      );
    }
    return parseSecret(secretId, secretString);
  };

  // A failed read is not cached: the next call tries again.
  const credentials = cachedUntilFailure(load);
  return { source: 'secret', get: () => credentials.get(), invalidate: () => credentials.invalidate() };
}

/** Reads {"appKey","appSecurity"}; errors name the secret and the problem, never its content. */
export function parseSecret(secretId: string, secretString: string | undefined): EkuaibaoCredentials {
  const malformed = (why: string): AppError =>
    new AppError('ekuaibao_credentials_malformed', `the 合思 credentials secret "${secretId}" ${why}`, {
      status: 500,
      retryable: false,
      details: { secretId },
    });
  if (secretString === undefined || secretString.trim() === '') {
    throw malformed('has no SecretString (expected JSON {"appKey","appSecurity"})');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw malformed('is not JSON (expected {"appKey","appSecurity"})');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw malformed('is not a JSON object (expected {"appKey","appSecurity"})');
  }
  const o = parsed as Record<string, unknown>;
  const missing = ['appKey', 'appSecurity'].filter(
    (f) => typeof o[f] !== 'string' || (o[f] as string).trim() === '',
  );
  if (missing.length > 0) {
    throw malformed(`lacks a non-empty string ${missing.join(' and ')}`);
  }
  return { appKey: (o.appKey as string).trim(), appSecurity: (o.appSecurity as string).trim() };
}
