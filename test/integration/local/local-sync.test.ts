/**
 * The local stack's scheduled sync, in this process (startLocalStack) against a 合思 sandbox of the test's: a run
 * that fails releases its lock and says why on the console, its retry runs (not "skipped: locked"), and a lock left
 * in sync/state.json by a run whose process died is released when the stack starts again on the same data folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../functions/core/ports.js';
import type { SyncState } from '../../../functions/core/sync/state.js';
import { loadLocalOptions } from '../../../infra/local/local-options.js';
import { type LocalStack, startLocalStack } from '../../../infra/local/local-stack.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';

const STATE_KEY = 'sync/state.json';

describe('the local stack’s scheduled sync: failures and locks', () => {
  let sandbox: EkuaibaoSandbox;
  let dataDir: string;
  const savedEnv = { ...process.env };
  let lines: string[];
  let env: Record<string, string>;

  const start = (): Promise<LocalStack> =>
    startLocalStack({
      env,
      options: loadLocalOptions(env, ['--no-demo']),
      logger: silentLogger,
      say: (line) => lines.push(line),
    });

  beforeAll(async () => {
    sandbox = await startEkuaibaoSandbox();
    dataDir = await mkdtemp(join(tmpdir(), 'ekb-local-sync-'));
    env = {
      EKB_BASE_URL: sandbox.baseUrl,
      EKB_APP_KEY: sandbox.appKey,
      EKB_APP_SECURITY: sandbox.appSecurity,
      EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
      EKB_SYNC_START_DATE: '2026-02-26',
      EKB_MAX_ATTEMPTS: '1',
      EKB_LOCAL_API_PORT: '0',
      EKB_LOCAL_S3_PORT: '0',
      EKB_LOCAL_DATA_DIR: dataDir,
    };
  });
  afterAll(async () => {
    await sandbox?.close();
    await rm(dataDir, { recursive: true, force: true });
    // startLocalStack points this process's AWS SDK settings at its embedded S3.
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  });

  it('a failed run releases the lock and says why; the retry runs; a dead run’s lock is released at the next start', async () => {
    lines = [];
    let stack = await start();
    try {
      // The first run's first listing fails (a 500 the client does not retry with EKB_MAX_ATTEMPTS=1).
      sandbox.inject({ kind: 'status', route: 'applyList', status: 500, times: 1 });
      // Meanwhile a reader keeps reading sync/state.json while the runs write it: every read is whole JSON (a
      // half-written state once read as "not valid JSON" and left the lock held for a quarter of an hour).
      let reading = true;
      let reads = 0;
      const store = stack.functions.store;
      const reader = (async () => {
        while (reading) {
          await store.getJson<SyncState>(STATE_KEY);
          reads += 1;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await stack.schedule.fireNow();
      await stack.settled();
      reading = false;
      await reader;
      expect(reads).toBeGreaterThan(10);
      const failure = lines.find((l) => l.startsWith('fan-out: a scheduled sync failed'));
      expect(failure).toMatch(
        /^fan-out: a scheduled sync failed \(try 1 of 5\): .+; it will be tried again$/,
      );
      // Its retry ran (a lock left behind would have made it "skipped") and archived the demo forms' files.
      const outcomes = stack.syncOutcomes;
      expect(outcomes[0]).toMatchObject({ attempt: 1, willRetry: true });
      expect(outcomes.at(-1)).toMatchObject({ summary: { status: 'done' } });
      expect(lines.at(-1)).toMatch(/^sync: \d+ form\(s\) in \d+ window\(s\), \d+ refs queued/);
      const state = await stack.functions.store.getJson<SyncState>(STATE_KEY);
      expect(state?.lock).toBeUndefined();
      expect(state?.lastError).toMatchObject({ code: expect.stringMatching(/^ekuaibao_http_500$/) });
      expect(state?.watermark).toBeDefined();

      // A run that was killed leaves its lock in the state.
      await stack.functions.store.putJson(STATE_KEY, {
        ...state,
        lock: {
          runId: 'killed-run',
          acquiredAt: new Date().toISOString(),
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
          expiresAtMs: Date.now() + 3_600_000,
        },
      });
    } finally {
      await stack.close();
    }

    lines = [];
    stack = await start();
    try {
      expect(stack.recovery.staleSyncLock).toMatchObject({ runId: 'killed-run' });
      expect(lines).toContainEqual(expect.stringMatching(/^sync: released the lock of run killed-run /));
      expect((await stack.functions.store.getJson<SyncState>(STATE_KEY))?.lock).toBeUndefined();
      await stack.schedule.fireNow();
      await stack.settled();
      expect(stack.syncOutcomes.at(-1)).toMatchObject({
        summary: { status: expect.stringMatching(/^(done|nothing_to_do)$/) },
      });
    } finally {
      await stack.close();
    }
  });
});
