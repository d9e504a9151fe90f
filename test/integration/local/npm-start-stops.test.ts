/**
 * `npm start` where it cannot start, and stopped mid-job: each condition that keeps it from starting is one line
 * and exit 3 (a port of its three taken, the data folder held by another `npm start`), never a stack trace; Ctrl-C
 * during a job stops it promptly, hands the interrupted batch back, and the next start finishes the job.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../../functions/core/model/job.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxFile } from '../../../infra/local/sandbox/types.js';
import { type CliRun, cleanEnv, runCaptured } from './run-cli.js';
import { isAlive, type RunningStack, startStack } from './start-stack.js';

/** Runs `npm start`'s entry until it exits; what it printed. */
function runStart(env: Record<string, string>): Promise<CliRun> {
  return runCaptured(process.execPath, ['infra/local/npm-start.mjs', '--no-demo'], {
    env: cleanEnv({ EKB_LOCAL_API_PORT: '0', EKB_LOCAL_S3_PORT: '0', ...env }),
    timeoutMs: 30_000,
  });
}

async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('npm start that cannot start says why in one line, exit 3', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ekb-start-errors-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the setting whose port is taken: the API, the embedded S3 or the sandbox', async () => {
    const keys = ['EKB_LOCAL_API_PORT', 'EKB_LOCAL_S3_PORT', 'EKB_LOCAL_SANDBOX_PORT'];
    const held = await Promise.all(keys.map(() => holdPort()));
    try {
      const runs = await Promise.all(
        keys.map((key, i) => runStart({ [key]: String(held[i]?.port), EKB_LOCAL_DATA_DIR: join(dir, key) })),
      );
      runs.forEach((run, i) => {
        expect(run.code).toBe(3);
        expect(run.stderr).toBe(
          `npm start: port ${held[i]?.port} on 127.0.0.1 is in use (is another \`npm start\` running?): set ${keys[i]} to a free port (0 = any)\n`,
        );
      });
    } finally {
      for (const h of held) h.server.close();
    }
  });

  it('refuses a data folder another npm start is using', async () => {
    const dataDir = join(dir, 'shared');
    const first = await startStack(dataDir);
    try {
      const second = await runStart({ EKB_LOCAL_DATA_DIR: dataDir });
      expect(second.code).toBe(3);
      expect(second.stderr).toBe(
        `npm start: ${dataDir} is in use by another process (is another \`npm start\` running on it?); stop that one or use another data folder\n`,
      );
    } finally {
      first.proc.kill('SIGINT');
      await first.exited;
    }
  });

  it('reports every bad setting at once, exit 2', async () => {
    const run = await runStart({
      EKB_LOCAL_API_PORT: 'x',
      EKB_LOCAL_HOST: '0.0.0.0',
      EKB_LOCAL_DATA_DIR: join(dir, 'bad'),
    });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/EKB_LOCAL_API_PORT/);
    expect(run.stderr).toMatch(/EKB_LOCAL_HOST/);
  });
});

describe('npm start stopped with Ctrl-C mid-job', () => {
  const FILES: SandboxFile[] = Array.from({ length: 40 }, (_, i) => ({
    id: `Stop${String(i).padStart(4, '0')}`,
    key: `openapi57000000-0000-4000-8000-${String(i).padStart(12, '0')}-s${i}.pdf`,
    fileName: `s${i}.pdf`,
    size: 2_000 + i,
  }));
  let sandbox: EkuaibaoSandbox;
  let dataDir: string;
  let stack: RunningStack | undefined;

  beforeAll(async () => {
    sandbox = await startEkuaibaoSandbox({ files: FILES, forms: [] });
    dataDir = await mkdtemp(join(tmpdir(), 'ekb-start-stop-'));
  });
  afterAll(async () => {
    if (stack && stack.proc.exitCode === null) stack.proc.kill('SIGKILL');
    await sandbox?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stops promptly, hands the batch back uncounted, and the next start finishes the job', async () => {
    const env = {
      EKB_BASE_URL: sandbox.baseUrl,
      EKB_APP_KEY: sandbox.appKey,
      EKB_APP_SECURITY: sandbox.appSecurity,
      EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
    };
    // One file's body stalls for good: its batch cannot end by itself.
    sandbox.inject({ kind: 'stallBody', route: 'download', afterBytes: 10, fileId: FILES[7]?.id as string });
    stack = await startStack(dataDir, env);
    const res = await request(`${stack.apiUrl}/copy-jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refs: FILES.map((f) => ({ id: f.id, key: f.key })) }),
    });
    expect(res.statusCode).toBe(202);
    const { jobId } = (await res.body.json()) as { jobId: string };
    for (const deadline = Date.now() + 20_000; (sandbox.stats.faultsFired.stallBody ?? 0) < 1; ) {
      if (Date.now() > deadline) throw new Error('the stall never fired');
      await new Promise((r) => setTimeout(r, 25));
    }
    const below = stack.descendants();
    const interruptedAt = Date.now();
    stack.proc.kill('SIGINT');
    const { code } = await stack.exited;
    expect(code).toBe(0);
    // Promptly: the batch's stalled download is stopped, not waited for (it never ends by itself).
    expect(Date.now() - interruptedAt).toBeLessThan(15_000);
    expect(stack.output()).toContain('stopped.');
    for (const deadline = Date.now() + 5_000; below.some(isAlive) && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(below.filter(isAlive)).toEqual([]);

    sandbox.clearFaults();
    stack = await startStack(dataDir, env);
    // Handed back on the way out: waiting at the start, not an interrupted receive.
    expect(stack.output()).toMatch(/recovered {2}1 batch, 0 manifest events/);
    const apiUrl = stack.apiUrl;
    let status: JobStatus | undefined;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      status = (await (
        await request(`${apiUrl}/copy-jobs/${encodeURIComponent(jobId)}`)
      ).body.json()) as JobStatus;
      if (status.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toMatchObject({ state: 'done', totals: { refs: FILES.length, failed: 0, pending: 0 } });
    // The stopped receive was not counted: the batch's report is its first attempt's, final.
    const report = JSON.parse(
      await readFile(join(dataDir, stack.bucket, `jobs/${jobId}/batches/b00001.json._S3rver_object`), 'utf8'),
    ) as { attempt: number; final: boolean };
    expect(report).toMatchObject({ attempt: 1, final: true });
    stack.proc.kill('SIGINT');
    expect((await stack.exited).code).toBe(0);
  });
});
