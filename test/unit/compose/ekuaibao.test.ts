import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { compose } from '../../../functions/compose/composition.js';
import { ekuaibaoClient } from '../../../functions/compose/ekuaibao.js';
import { loadConfig } from '../../../functions/config.js';
import type { EkuaibaoClient } from '../../../functions/core/ekuaibao/client.js';
import { silentLogger } from '../../../functions/core/ports.js';
import { type FakeEkb, sendJson, startFakeEkb, TOKEN_PATH } from '../core/ekuaibao/fake-ekb-server.js';

const sm = mockClient(SecretsManagerClient);
let server: FakeEkb | undefined;
let client: EkuaibaoClient | undefined;

afterEach(async () => {
  sm.reset();
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

/** Accepts only appSecurity "good". */
async function start(): Promise<FakeEkb> {
  return startFakeEkb((req, res) => {
    if (req.path !== TOKEN_PATH) return sendJson(res, 404, 'no');
    const ok = (req.body as { appSecurity?: string }).appSecurity === 'good';
    if (!ok) return sendJson(res, 403, { value: { errorCode: 403, errorMessage: '密钥无效' } });
    sendJson(res, 200, { value: { accessToken: 'ID01x:T', expireTime: Date.now() + 7_200_000 } });
  });
}

describe('ekuaibaoClient (the composition root)', () => {
  it('builds a client for the configured tenant with env credentials', async () => {
    server = await start();
    const config = loadConfig({ EKB_BASE_URL: server.baseUrl, EKB_APP_KEY: 'k', EKB_APP_SECURITY: 'good' });
    client = ekuaibaoClient(compose(config, { logger: silentLogger }));
    expect(await client.getAccessToken()).toBe('ID01x:T');
  });

  it('picks up a rotated secret after 合思 refuses the cached one', async () => {
    server = await start();
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ appKey: 'k', appSecurity: 'old' }) })
      .resolves({ SecretString: JSON.stringify({ appKey: 'k', appSecurity: 'good' }) });
    const config = loadConfig({ EKB_BASE_URL: server.baseUrl, EKB_CREDENTIALS_SECRET: 'ekb/creds' });
    client = ekuaibaoClient(
      compose(config, {
        logger: silentLogger,
        secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
      }),
    );
    expect(await client.getAccessToken()).toBe('ID01x:T');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(server.count(TOKEN_PATH)).toBe(2);
  });

  it('answers every call with the clear no-credentials error when none are configured', async () => {
    const config = loadConfig({ EKB_BASE_URL: 'http://127.0.0.1:9' });
    client = ekuaibaoClient(compose(config, { logger: silentLogger }));
    await expect(client.resolveDownloadUrls([{ id: 'a', key: 'b' }])).rejects.toThrow(/no 合思 credentials/);
  });
});
