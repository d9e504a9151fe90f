/**
 * The CLI against `kill -9` and a careless hand: `copy --job-id` killed mid-run and started again resumes the job
 * (refs settled before are not run again, the rest are, exit 0 once every ref is done); the same command twice at
 * once. The bin runs as a child process against s3rver and a 合思 sandbox of this process (as a tenant), whose
 * per-file stall holds one batch open, so the kill lands mid-run at a known point, not after a sleep.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxFile } from '../../../infra/local/sandbox/types.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';
import { until } from '../../helpers/until.js';
import { cleanEnv, jsonLines, runCli } from './run-cli.js';

const FILES: SandboxFile[] = Array.from({ length: 300 }, (_, i) => ({
  id: `Crash${String(i).padStart(4, '0')}`,
  key: `openapi0c0ffee0-0000-4000-8000-${String(i).padStart(12, '0')}-file ${i}.txt`,
  fileName: `file ${i}.txt`,
  size: 1_000 + i * 7,
}));

async function keysUnder(s3: TestS3, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((o) => o.Key as string));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

async function exists(s3: TestS3, key: string): Promise<boolean> {
  try {
    await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

async function sha256Of(s3: TestS3, key: string): Promise<string> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of out.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

describe('ekb-archive copy --job-id across kill -9 and a second copy of the command', () => {
  let s3: TestS3;
  let sandbox: EkuaibaoSandbox;
  let dir: string;
  let manifest: string;
  /** The first 30 refs: enough for the tests that are not about a long run. */
  let small: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    s3 = await startS3rver();
    sandbox = await startEkuaibaoSandbox({ files: FILES, forms: [] });
    dir = await mkdtemp(join(tmpdir(), 'ekb-cli-crash-'));
    manifest = join(dir, 'refs.jsonl');
    await writeFile(manifest, `${FILES.map((f) => JSON.stringify({ id: f.id, key: f.key })).join('\n')}\n`);
    small = join(dir, 'small.jsonl');
    await writeFile(
      small,
      `${FILES.slice(0, 30)
        .map((f) => JSON.stringify({ id: f.id, key: f.key }))
        .join('\n')}\n`,
    );
    env = cleanEnv({
      ...s3.env,
      EKB_BUCKET: s3.bucket,
      EKB_BASE_URL: sandbox.baseUrl,
      EKB_APP_KEY: sandbox.appKey,
      EKB_APP_SECURITY: sandbox.appSecurity,
      // The stand-in tenant serves http on loopback.
      EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
    });
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

  const copy = (jobId: string, prefix: string, extra: string[] = [], from = manifest) => [
    'copy',
    '--manifest',
    from,
    '--job-id',
    jobId,
    '--key-template',
    `${prefix}/{fileId}/{fileName}`,
    ...extra,
  ];

  async function expectAllArchived(prefix: string, files = FILES): Promise<void> {
    const keys = await keysUnder(s3, `${prefix}/`);
    expect(keys).toHaveLength(files.length);
    for (const f of files) {
      expect(await sha256Of(s3, `${prefix}/${f.id}/${f.fileName}`)).toBe(await sandbox.sha256(f.id));
    }
  }

  it('killed mid-run, the same command resumes: refs done before are not copied again, every ref ends copied, exit 0', async () => {
    // Batch b00002's 51st file stalls forever: b00001 finishes and reports, b00002 never can.
    const stalled = FILES[150] as SandboxFile;
    sandbox.inject({ kind: 'stallBody', route: 'download', afterBytes: 10, fileId: stalled.id });
    let pid = 0;
    const first = runCli(copy('resume-1', 'resume'), {
      env,
      onSpawn: (p) => {
        pid = p;
      },
    });
    await until('b00001 reported and the stall reached', async () =>
      (await exists(s3, 'jobs/resume-1/batches/b00001.json')) && sandbox.stats.faultsFired.stallBody === 1
        ? true
        : undefined,
    );
    process.kill(pid, 'SIGKILL');
    expect((await first).signal).toBe('SIGKILL');
    const before = await keysUnder(s3, 'resume/');
    expect(before.length).toBeGreaterThanOrEqual(100);
    expect(before.length).toBeLessThan(FILES.length);
    expect(before).not.toContain(`resume/${stalled.id}/${stalled.fileName}`);
    const reportedBefore = (await keysUnder(s3, 'jobs/resume-1/batches/')).length;

    sandbox.clearFaults();
    sandbox.resetStats();
    const second = await runCli(copy('resume-1', 'resume', ['--json']), { env });
    expect(second.code).toBe(0);
    const events = jsonLines(second.stdout);
    const summary = events.at(-1) as {
      totals: { refs: number; copied: number; skipped: number; failed: number; alreadyDone: number };
      resumed?: boolean;
      ok: boolean;
    };
    expect(summary).toMatchObject({ type: 'summary', ok: true, exitCode: 0, resumed: true });
    const t = summary.totals;
    expect(t.refs).toBe(FILES.length);
    expect(t.failed).toBe(0);
    // Batches reported before the kill are not touched again; the rest are copied or found already there.
    expect(t.alreadyDone).toBe(reportedBefore * 100);
    expect(t.copied + t.skipped + t.alreadyDone).toBe(FILES.length);
    // Not one file found before is copied again (an upload the kill caught whole may land just after the listing).
    expect(t.copied).toBeLessThanOrEqual(FILES.length - before.length);
    expect(t.copied).toBeGreaterThanOrEqual(1);
    const copiedKeys = events.filter((e) => e.type === 'copied').map((e) => String(e.objectKey));
    expect(copiedKeys.filter((k) => before.includes(k))).toEqual([]);
    expect(events.filter((e) => e.type === 'copied').map((e) => e.id)).toContain(stalled.id);
    await expectAllArchived('resume');

    const job = await runCli(['job', 'resume-1', '--json'], { env });
    expect(job.code).toBe(0);
    expect(jsonLines(job.stdout)[0]).toMatchObject({
      state: 'done',
      totals: { refs: FILES.length, failed: 0, pending: 0 },
    });

    // Once more: everything is done already, nothing is downloaded, exit 0.
    sandbox.resetStats();
    const third = await runCli(copy('resume-1', 'resume', ['--json']), { env });
    expect(third.code).toBe(0);
    expect(jsonLines(third.stdout).at(-1)).toMatchObject({
      totals: { alreadyDone: FILES.length, copied: 0 },
    });
    expect(sandbox.stats.downloadUrlCalls).toBe(0);
  });

  it('refuses a second run of the same job on this machine in one line while the first holds it', async () => {
    const held = FILES[20] as SandboxFile;
    // Held long enough for a second CLI to start and reach the job's lock on a loaded machine (2 s was not: its
    // start alone took 3-4 s at load 12 on 2 cores, and the first run had ended).
    sandbox.inject({
      kind: 'stallBody',
      route: 'download',
      afterBytes: 10,
      stallMs: 10_000,
      fileId: held.id,
    });
    const first = runCli(copy('twice-1', 'twice', [], small), { env });
    await until('the first run to be mid-run', async () =>
      sandbox.stats.faultsFired.stallBody === 1 ? true : undefined,
    );
    const second = await runCli(copy('twice-1', 'twice', [], small), { env });
    expect(second.code).toBe(3);
    expect(second.stderr.trim().split('\n')).toEqual([
      `ekb-archive copy: job twice-1 in s3://${s3.bucket} is being run by another ekb-archive on this machine; wait for it to end, or give another --job-id`,
    ]);
    expect(second.stdout).toBe('');
    expect((await first).code).toBe(0);
    await expectAllArchived('twice', FILES.slice(0, 30));
  });

  it('two identical commands started at the same moment: one refuses or both succeed, and the job ends whole', async () => {
    const runs = await Promise.all([
      runCli(copy('twice-2', 'same', [], small), { env }),
      runCli(copy('twice-2', 'same', [], small), { env }),
    ]);
    const codes = runs.map((r) => r.code).sort();
    expect([
      [0, 0],
      [0, 3],
    ]).toContainEqual(codes);
    for (const r of runs.filter((x) => x.code === 3)) {
      expect(r.stderr).toMatch(
        /^ekb-archive copy: job twice-2 in s3:\/\/\S+ is being run by another ekb-archive/,
      );
    }
    await expectAllArchived('same', FILES.slice(0, 30));
    const job = await runCli(['job', 'twice-2', '--json'], { env });
    expect(jsonLines(job.stdout)[0]).toMatchObject({
      state: 'done',
      totals: { refs: 30, failed: 0, pending: 0 },
    });
  });

  it('refuses to resume a job with another manifest (exit 2), before copying anything of it', async () => {
    const other = join(dir, 'other.jsonl');
    await writeFile(
      other,
      `${FILES.slice(0, 25)
        .map((f) => JSON.stringify({ id: f.id, key: f.key }))
        .join('\n')}\n`,
    );
    const first = await runCli(copy('mixed-1', 'mixed', [], small), { env });
    expect(first.code).toBe(0);
    sandbox.resetStats();
    const wrong = await runCli(
      ['copy', '--manifest', other, '--job-id', 'mixed-1', '--key-template', 'mixed/{fileId}/{fileName}'],
      { env },
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      /job mixed-1 was created from other input \(batch b00001 held 30 refs, this input gives it 25\)/,
    );
    expect(sandbox.stats.downloadUrlCalls).toBe(0);
  });
});
