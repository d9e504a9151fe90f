import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFiles } from '../../../infra/local/sandbox/demo-data.js';
import { cleanEnv, jsonLines, runCli } from './run-cli.js';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('ekb-archive resolve (bin as a child process)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ekb-cli-resolve-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one resolution per good line, marks not_found, reports bad lines by number, exits 1', async () => {
    const [a, b] = demoFiles();
    const file = join(dir, 'refs.jsonl');
    await writeFile(
      file,
      [
        JSON.stringify({ id: a?.id, key: a?.key }),
        '{"id": "broken json"',
        JSON.stringify({ id: 'unknown-id', key: 'unknown-key' }),
        JSON.stringify({ id: b?.id }),
        JSON.stringify({ id: b?.id, key: b?.key }),
      ].join('\n'),
    );
    const run = await runCli(['resolve', file, '--sandbox']);
    expect(run.code).toBe(1);
    const lines = jsonLines(run.stdout);
    expect(lines.map((l) => [l.line, l.status, l.id])).toEqual([
      [1, 'resolved', a?.id],
      [3, 'not_found', 'unknown-id'],
      [5, 'resolved', b?.id],
    ]);
    expect(String(lines[0]?.url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(run.stderr).toContain('line 2: not valid JSON');
    expect(run.stderr).toContain('line 4: field "key" must be a non-empty string');
    expect(run.stderr).toContain('2 resolved, 1 not found, 2 bad lines');
  });

  it("accepts the vendor's own downloadurls body on stdin and exits 0 when all are found", async () => {
    const files = demoFiles().slice(0, 3);
    const body = JSON.stringify(
      files.map((f) => ({ id: f.id, key: f.key, expiration: 1000 })),
      null,
      2,
    );
    const run = await runCli(['resolve', '-', '--sandbox', '--json'], { stdin: body });
    expect(run.code).toBe(0);
    const lines = jsonLines(run.stdout);
    const resolutions = lines.filter((l) => l.type === 'resolution');
    expect(resolutions.map((l) => l.id)).toEqual(files.map((f) => f.id));
    expect(lines.at(-1)).toMatchObject({ type: 'summary', ok: true, exitCode: 0, resolved: 3, notFound: 0 });
  });

  it('names the missing credential keys and suggests --sandbox (exit 2)', async () => {
    const file = join(dir, 'one.jsonl');
    await writeFile(file, '{"id":"x","key":"y"}\n');
    const run = await runCli(['resolve', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('EKB_APP_KEY');
    expect(run.stderr).toContain('EKB_APP_SECURITY');
    expect(run.stderr).toContain('--sandbox');
    expect(run.stdout).toBe('');
  });

  it('says in one line that the 合思 host cannot be reached (exit 3)', async () => {
    const file = join(dir, 'one.jsonl');
    await writeFile(file, '{"id":"x","key":"y"}\n');
    const port = await closedPort();
    const run = await runCli(['resolve', file], {
      env: cleanEnv({
        EKB_APP_KEY: 'k',
        EKB_APP_SECURITY: 'super-secret-value',
        EKB_BASE_URL: `http://127.0.0.1:${port}`,
        EKB_MAX_ATTEMPTS: '1',
      }),
    });
    expect(run.code).toBe(3);
    const errorLines = run.stderr.trim().split('\n');
    expect(errorLines.at(-1)).toBe(
      `ekb-archive resolve: cannot reach the 合思 API at 127.0.0.1:${port} (EKB_BASE_URL): connection refused (ECONNREFUSED)`,
    );
    expect(run.stderr).not.toContain('super-secret-value');
  });

  it('rejects unknown flags and bad configuration as usage errors (exit 2)', async () => {
    const flag = await runCli(['resolve', '-', '--bogus']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown option '--bogus'/);
    const config = await runCli(['resolve', '-', '--sandbox'], {
      env: cleanEnv({ EKB_COPY_CONCURRENCY: 'lots' }),
    });
    expect(config.code).toBe(2);
    expect(config.stderr).toContain('EKB_COPY_CONCURRENCY must be an integer');
  });

  it('prints help for the tool and for a command', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Commands:[\s\S]*resolve[\s\S]*copy[\s\S]*sync[\s\S]*job/);
    const resolve = await runCli(['resolve', '--help']);
    expect(resolve.code).toBe(0);
    expect(resolve.stdout).toContain('Usage: ekb-archive resolve <refs.jsonl|->');
  });
});
