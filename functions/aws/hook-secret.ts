/**
 * The receiving route's secret from Secrets Manager (EKB_HOOK_SECRET names it; the stack generates its value, so
 * it appears in no template, environment or log). Read once per cold start and cached; a failed read is not
 * cached and answers 503 (合思 retries). Errors name the secret, never its value.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AppError, ErrorCode } from '../core/errors.js';
import { MIN_HOOK_SECRET_CHARS } from '../core/hooks/hook-secret.js';
import { cachedUntilFailure } from '../core/util/cached-promise.js';

export function hookSecretFromSecretsManager(
  secretId: string,
  client?: Pick<SecretsManagerClient, 'send'>,
): () => Promise<string> {
  let sm = client;
  const load = async (): Promise<string> => {
    sm ??= new SecretsManagerClient({});
    let value: string | undefined;
    try {
      value = (await sm.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString?.trim();
    } catch (err) {
      throw new AppError(ErrorCode.Misconfigured, `could not read the hook secret "${secretId}"`, {
        status: 503,
        retryable: true,
        details: { secretId, errorName: err instanceof Error ? err.name : 'Error' },
      });
    }
    if (!value || value.length < MIN_HOOK_SECRET_CHARS) {
      throw new AppError(
        ErrorCode.Misconfigured,
        `the hook secret "${secretId}" must hold at least ${MIN_HOOK_SECRET_CHARS} characters`,
        { status: 503, retryable: false, details: { secretId } },
      );
    }
    return value;
  };
  const secret = cachedUntilFailure(load);
  return () => secret.get();
}
