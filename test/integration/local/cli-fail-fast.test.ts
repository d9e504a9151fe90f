/**
 * Conditions that stop a whole CLI run are said once, clearly, with the documented exit code, before the first
 * batch where they can be known: refused credentials, an unreachable 合思 host, a missing bucket, an unreachable S3
 * endpoint, a manifest that is not there. A refusal that only shows mid-run stops the run in one line too, never as
 * one failed line per ref.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxFile } from '../../../infra/local/sandbox/types.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';
import { cleanEnv, jsonLines, runCli } from './run-cli.js';

const FILES: SandboxFile[] = Array.from({ length: 150 }, (_, i) => ({
  id: `Fast${String(i).padStart(4, '0')}`,
  key: `openapi0fa57000-0000-4000-8000-${String(i).padStart(12, '0')}-f${i}.pdf`,
  fileName: `f${i}.pdf`,
  size: 500,
}));

/** A port nothing listens on (taken, then let go). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function allKeys(s3: TestS3): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
  return (out.Contents ?? []).map((o) => o.Key as string).sort();
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

describe('ekb-archive copy fails fast, once, clearly', () => {
  let s3: TestS3;
  let sandbox: EkuaibaoSandbox;
  let dir: string;
  let manifest: string;
  let tenant: Record<string, string>;

  beforeAll(async () => {
    s3 = await startS3rver();
    sandbox = await startEkuaibaoSandbox({ files: FILES, forms: [] });
    dir = await mkdtemp(join(tmpdir(), 'ekb-cli-fast-'));
    manifest = join(dir, 'refs.jsonl');
    await writeFile(manifest, `${FILES.map((f) => JSON.stringify({ id: f.id, key: f.key })).join('\n')}\n`);
    tenant = {
      EKB_BASE_URL: sandbox.baseUrl,
      EKB_APP_KEY: sandbox.appKey,
      EKB_APP_SECURITY: sandbox.appSecurity,
      EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
    };
  });
  afterAll(async () => {
    await sandbox?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    sandbox.clearFaults();
    sandbox.resetStats();
  });

  const copy = (jobId: string, extra: string[] = []) => [
    'copy',
    '--manifest',
    manifest,
    '--bucket',
    s3.bucket,
    '--job-id',
    jobId,
    ...extra,
  ];

  it('refused credentials: one line, exit 3, no ref tried, nothing written outside the job', async () => {
    const run = await runCli(copy('fast-creds'), {
      env: cleanEnv({ ...s3.env, ...tenant, EKB_APP_SECURITY: 'not-the-secret' }),
    });
    expect(run.code).toBe(3);
    expect(lines(run.stderr)).toEqual([
      expect.stringMatching(
        /^ekb-archive copy: 合思 refused the credentials: check EKB_APP_KEY \/ EKB_APP_SECURITY for 127\.0\.0\.1:\d+ /,
      ),
    ]);
    expect(run.stderr).not.toContain('not-the-secret');
    expect(run.stdout).toBe('');
    expect(sandbox.stats.downloadUrlCalls).toBe(0);
    expect((await allKeys(s3)).filter((k) => !k.startsWith('jobs/fast-creds/'))).toEqual([]);
  });

  it('an unreachable 合思 host: one line naming it, exit 3', async () => {
    const port = await closedPort();
    const run = await runCli(copy('fast-host'), {
      env: cleanEnv({
        ...s3.env,
        ...tenant,
        EKB_BASE_URL: `http://127.0.0.1:${port}`,
        EKB_MAX_ATTEMPTS: '1',
      }),
    });
    expect(run.code).toBe(3);
    expect(lines(run.stderr)).toEqual([
      `ekb-archive copy: cannot reach the 合思 API at 127.0.0.1:${port} (EKB_BASE_URL): connection refused (ECONNREFUSED)`,
    ]);
    expect(run.stdout).toBe('');
  });

  it('a bucket that does not exist: one line naming it, exit 3', async () => {
    const run = await runCli(
      ['copy', '--manifest', manifest, '--bucket', 'no-such-bucket', '--job-id', 'fast-b'],
      {
        env: cleanEnv({ ...s3.env, ...tenant }),
      },
    );
    expect(run.code).toBe(3);
    expect(lines(run.stderr)).toEqual([
      'ekb-archive copy: the bucket no-such-bucket cannot be written: S3 answered NoSuchBucket: the bucket does not exist (check --bucket / EKB_BUCKET, and AWS_ENDPOINT_URL_S3)',
    ]);
    expect(sandbox.stats.downloadUrlCalls).toBe(0);
  });

  it('an S3 endpoint nothing answers at: one line naming it, exit 3', async () => {
    const port = await closedPort();
    const run = await runCli(copy('fast-s3'), {
      env: cleanEnv({ ...s3.env, ...tenant, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` }),
    });
    expect(run.code).toBe(3);
    expect(lines(run.stderr)).toEqual([
      `ekb-archive copy: the bucket ${s3.bucket} cannot be written: cannot reach the S3 endpoint 127.0.0.1:${port} (AWS_ENDPOINT_URL_S3): connection refused (ECONNREFUSED)`,
    ]);
  });

  it('a manifest path that does not exist: one line, exit 2, before anything is asked of 合思 or S3', async () => {
    const missing = join(dir, 'not-there.jsonl');
    const run = await runCli(['copy', '--manifest', missing, '--bucket', s3.bucket], {
      env: cleanEnv({ ...s3.env, ...tenant }),
    });
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toEqual([
      `ekb-archive copy: cannot read ${missing}: no such file or directory (ENOENT)`,
    ]);
    expect(sandbox.stats.tokenCalls).toBe(0);
  });

  it('a refusal that only shows mid-run stops the run in one line, not one per ref; the same --job-id then finishes it', async () => {
    // The token works (the check passes); then every downloadurls call is refused, even with a fresh token.
    sandbox.inject({ kind: 'status', route: 'downloadurls', status: 401, times: 1_000 });
    const env = cleanEnv({ ...s3.env, ...tenant });
    const run = await runCli(copy('fast-mid', ['--key-template', 'mid/{fileId}']), { env });
    expect(run.code).toBe(3);
    const err = lines(run.stderr);
    expect(err.filter((l) => l.startsWith('failed'))).toEqual([]);
    expect(err.filter((l) => /refused/.test(l))).toEqual([
      expect.stringMatching(/^ekb-archive copy: stopped: 合思 refused the credentials/),
    ]);
    expect(err).toContain('job fast-mid: 150 ref(s) not finished; run the same command to finish them');
    expect(run.stdout).toMatch(/^copy: FAILED: 150 refs, 0 copied/m);

    sandbox.clearFaults();
    const again = await runCli(copy('fast-mid', ['--key-template', 'mid/{fileId}', '--json']), { env });
    expect(again.code).toBe(0);
    expect(jsonLines(again.stdout).at(-1)).toMatchObject({ ok: true, totals: { copied: 150, failed: 0 } });
  });

  it('copy --dry-run works without 合思 credentials and without a bucket, writing nothing', async () => {
    const run = await runCli(['copy', '--manifest', manifest, '--dry-run', '--json'], {
      env: cleanEnv({ ...s3.env }),
    });
    expect(run.code).toBe(0);
    const planned = jsonLines(run.stdout).filter((e) => e.type === 'planned');
    expect(planned.map((e) => e.objectKey)).toEqual(FILES.map((f) => `attachments/${f.id}/${f.fileName}`));
    expect(run.stderr).toMatch(/dry run without 合思 credentials/);
  });
});
