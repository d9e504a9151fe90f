import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { credentialsFromConfig, NO_CREDENTIALS_MESSAGE } from '../../../functions/aws/credentials.js';
import { AppError, ValidationError } from '../../../functions/core/errors.js';

const sm = mockClient(SecretsManagerClient);
const secretsManager = new SecretsManagerClient({ region: 'eu-west-1' });
const none = { ekbAppKey: undefined, ekbAppSecurity: undefined, ekbCredentialsSecret: undefined };

afterEach(() => {
  sm.reset();
});

describe('credentialsFromConfig', () => {
  it('uses EKB_APP_KEY/EKB_APP_SECURITY when set, even if a secret is named too', async () => {
    const p = credentialsFromConfig(
      { ekbAppKey: 'k', ekbAppSecurity: 's', ekbCredentialsSecret: 'ekb/creds' },
      { secretsManager },
    );
    expect(p.source).toBe('env');
    expect(await p.get()).toEqual({ appKey: 'k', appSecurity: 's' });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('reads the secret once per process and re-reads it after invalidate()', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'ekb/creds' })
      .resolvesOnce({ SecretString: JSON.stringify({ appKey: 'k1', appSecurity: 's1' }) })
      .resolvesOnce({ SecretString: JSON.stringify({ appKey: 'k1', appSecurity: 's2' }) });
    const p = credentialsFromConfig({ ...none, ekbCredentialsSecret: 'ekb/creds' }, { secretsManager });
    expect(p.source).toBe('secret');
    const [a, b] = await Promise.all([p.get(), p.get()]);
    expect(a).toEqual({ appKey: 'k1', appSecurity: 's1' });
    expect(b).toEqual(a);
    expect(await p.get()).toEqual(a);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    p.invalidate();
    expect(await p.get()).toEqual({ appKey: 'k1', appSecurity: 's2' });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('fails clearly without any credentials configured', async () => {
    const p = credentialsFromConfig(none, { secretsManager });
    await expect(p.get()).rejects.toBeInstanceOf(ValidationError);
    await expect(p.get()).rejects.toThrow(NO_CREDENTIALS_MESSAGE);
  });

  it('names the missing half when only one of the env pair is set', async () => {
    const p = credentialsFromConfig({ ...none, ekbAppKey: 'k' });
    await expect(p.get()).rejects.toThrow(/EKB_APP_SECURITY is missing/);
  });

  it('reports a malformed secret without its content', async () => {
    const bodies = [
      'appSecurity=TOPSECRET',
      JSON.stringify({ appKey: 'k', appSecret: 'TOPSECRET' }),
      JSON.stringify(['TOPSECRET']),
      undefined,
    ];
    for (const SecretString of bodies) {
      sm.reset();
      sm.on(GetSecretValueCommand).resolves(SecretString === undefined ? {} : { SecretString });
      const p = credentialsFromConfig({ ...none, ekbCredentialsSecret: 'ekb/creds' }, { secretsManager });
      const err = (await p.get().catch((e: unknown) => e)) as AppError;
      expect(err).toBeInstanceOf(AppError);
      expect(err.code).toBe('ekuaibao_credentials_malformed');
      expect(err.message).toContain('ekb/creds');
      expect(err.message).not.toContain('TOPSECRET');
      expect(JSON.stringify(err.details)).not.toContain('TOPSECRET');
    }
  });

  it('says which field is missing', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ appKey: 'k', appSecurity: '' }) });
    const p = credentialsFromConfig({ ...none, ekbCredentialsSecret: 'ekb/creds' }, { secretsManager });
    await expect(p.get()).rejects.toThrow(/lacks a non-empty string appSecurity/);
  });

  it('wraps a Secrets Manager failure and does not cache it', async () => {
    const denied = Object.assign(new Error('User is not authorized'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    sm.on(GetSecretValueCommand)
      .rejectsOnce(denied)
      .resolves({ SecretString: JSON.stringify({ appKey: 'k', appSecurity: 's' }) });
    const p = credentialsFromConfig({ ...none, ekbCredentialsSecret: 'ekb/creds' }, { secretsManager });
    await expect(p.get()).rejects.toMatchObject({
      code: 'ekuaibao_credentials_unavailable',
      message: expect.stringContaining('AccessDeniedException'),
    });
    expect(await p.get()).toEqual({ appKey: 'k', appSecurity: 's' });
  });
});
