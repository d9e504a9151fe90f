import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256OfContent } from '../../../infra/local/sandbox/content.js';
import { demoFiles } from '../../../infra/local/sandbox/demo-data.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';
import { cleanEnv, jsonLines, runCli } from './run-cli.js';

async function objectSha256(s3: TestS3, key: string): Promise<string> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of out.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

async function keysUnder(s3: TestS3, prefix: string): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string);
}

describe('ekb-archive copy (bin as a child process, s3rver via AWS_ENDPOINT_URL_S3)', () => {
  let s3: TestS3;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    s3 = await startS3rver();
    dir = await mkdtemp(join(tmpdir(), 'ekb-cli-copy-'));
    // Only the SDK's standard settings point the CLI at the store: the same command works for S3, MinIO or R2.
    env = cleanEnv({ ...s3.env, EKB_BUCKET: s3.bucket });
  });
  afterAll(async () => {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('copies the good lines, reports bad ones by line number, verifies by SHA-256, and exits 1', async () => {
    const files = demoFiles().slice(0, 4);
    const manifest = join(dir, 'mixed.jsonl');
    await writeFile(
      manifest,
      [
        JSON.stringify({ id: files[0]?.id, key: files[0]?.key }),
        '{"id": "cut off',
        JSON.stringify({ id: files[1]?.id, key: files[1]?.key, fileName: 'renamed.jpg' }),
        JSON.stringify({ id: 'no-key-here' }),
        JSON.stringify({ id: files[2]?.id, key: files[2]?.key }),
        JSON.stringify({ id: 'unknown', key: 'not-in-the-tenant.pdf' }),
        JSON.stringify({ id: files[3]?.id, key: files[3]?.key }),
      ].join('\n'),
    );
    const run = await runCli(
      ['copy', '--manifest', manifest, '--sandbox', '--json', '--key-template', 'mixed/{fileId}/{fileName}'],
      { env },
    );
    expect(run.code).toBe(1);
    const events = jsonLines(run.stdout);
    const bad = events.filter((e) => e.type === 'bad_line');
    expect(bad.map((e) => e.line)).toEqual([2, 4]);
    expect(String(bad[1]?.message)).toMatch(/key/);
    const copied = events.filter((e) => e.type === 'copied');
    expect(copied.map((e) => e.id).sort()).toEqual(files.map((f) => f.id).sort());
    const failed = events.filter((e) => e.type === 'failed');
    expect(failed).toEqual([expect.objectContaining({ id: 'unknown', code: 'not_found' })]);
    const summary = events.at(-1) as Record<string, unknown>;
    expect(summary).toMatchObject({
      type: 'summary',
      ok: false,
      aborted: false,
      exitCode: 1,
      totals: { refs: 5, copied: 4, failed: 1, badLines: 2 },
    });

    for (const e of copied) {
      const file = files.find((f) => f.id === e.id);
      expect(e.objectKey).toMatch(/^mixed\//);
      expect(await objectSha256(s3, String(e.objectKey))).toBe(
        await sha256OfContent(file?.id as string, file?.size as number),
      );
    }
    expect(copied.find((e) => e.id === files[1]?.id)?.objectKey).toBe(`mixed/${files[1]?.id}/renamed.jpg`);

    // The job is in the bucket the way the functions record theirs.
    const jobId = String(summary.jobId);
    const job = await runCli(['job', jobId, '--json'], { env });
    expect(job.code).toBe(1);
    expect(jsonLines(job.stdout)[0]).toMatchObject({
      type: 'job',
      jobId,
      state: 'done_with_failures',
      source: { kind: 'cli', manifest },
      totals: { refs: 5, copied: 4, failed: 1, pending: 0 },
      badLines: [{ line: 2 }, { line: 4 }],
    });
  });

  it('skips files already archived on a second run and exits 0', async () => {
    const files = demoFiles().slice(4, 7);
    const manifest = join(dir, 'clean.csv');
    await writeFile(
      manifest,
      `id,key\n${files.map((f) => `${f.id},"${f.key.replace(/"/g, '""')}"`).join('\n')}\n`,
    );
    const first = await runCli(['copy', '--manifest', manifest, '--sandbox'], { env });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^copy: OK: 3 refs, 3 copied/m);
    const second = await runCli(['copy', '--manifest', manifest, '--sandbox', '--json'], { env });
    expect(second.code).toBe(0);
    expect(jsonLines(second.stdout).at(-1)).toMatchObject({ ok: true, totals: { skipped: 3, copied: 0 } });
  });

  it('--dry-run prints the object keys it would write and writes nothing', async () => {
    const files = demoFiles().slice(7, 10);
    const manifest = join(dir, 'plan.jsonl');
    await writeFile(manifest, files.map((f) => JSON.stringify({ id: f.id, key: f.key })).join('\n'));
    const run = await runCli(
      [
        'copy',
        '--manifest',
        manifest,
        '--sandbox',
        '--dry-run',
        '--json',
        '--key-template',
        'plan/{fileId}.{ext}',
      ],
      { env },
    );
    expect(run.code).toBe(0);
    const planned = jsonLines(run.stdout).filter((e) => e.type === 'planned');
    expect(planned.map((e) => e.id)).toEqual(files.map((f) => f.id));
    for (const p of planned) expect(String(p.objectKey)).toMatch(/^plan\/[^/]+\.[a-z]+$/);
    expect(await keysUnder(s3, 'plan/')).toEqual([]);
    const summary = jsonLines(run.stdout).at(-1);
    expect(await keysUnder(s3, `jobs/${String(summary?.jobId)}`)).toEqual([]);
  });

  it('explains missing credentials and a missing bucket as usage errors (exit 2)', async () => {
    const manifest = join(dir, 'one.jsonl');
    await writeFile(manifest, '{"id":"a","key":"b"}\n');
    const noCreds = await runCli(['copy', '--manifest', manifest], { env });
    expect(noCreds.code).toBe(2);
    expect(noCreds.stderr).toContain('EKB_APP_KEY and EKB_APP_SECURITY');
    const noBucket = await runCli(['copy', '--manifest', manifest, '--sandbox'], {
      env: cleanEnv({ ...s3.env }),
    });
    expect(noBucket.code).toBe(2);
    expect(noBucket.stderr).toContain('pass --bucket or set EKB_BUCKET');
    const badTemplate = await runCli(
      ['copy', '--manifest', manifest, '--sandbox', '--key-template', 'x/{nope}'],
      {
        env,
      },
    );
    expect(badTemplate.code).toBe(2);
    expect(badTemplate.stderr).toContain('unknown placeholder(s) {nope}');
  });

  it('holds every target to the lanes: a template in a system lane is a usage error, a line aimed there is a bad line, an occupied key is refused unless --overwrite', async () => {
    const files = demoFiles().slice(10, 12);
    const manifest = join(dir, 'lanes.jsonl');
    const occupied = `lanes/${files[1]?.id}/${files[1]?.fileName}`;
    await writeFile(
      manifest,
      [
        JSON.stringify({ id: files[0]?.id, key: files[0]?.key, targetKey: 'sync/state.json' }),
        JSON.stringify({ id: files[1]?.id, key: files[1]?.key }),
      ].join('\n'),
    );
    const badTemplate = await runCli(
      ['copy', '--manifest', manifest, '--sandbox', '--key-template', 'jobs/{fileId}/{fileName}'],
      { env },
    );
    expect(badTemplate.code).toBe(2);
    expect(badTemplate.stderr).toMatch(/system lane "jobs\/"/);

    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: occupied, Body: 'placeholder' }));
    const args = [
      'copy',
      '--manifest',
      manifest,
      '--sandbox',
      '--json',
      '--key-template',
      'lanes/{fileId}/{fileName}',
    ];
    const refused = await runCli(args, { env });
    expect(refused.code).toBe(1);
    const events = jsonLines(refused.stdout);
    expect(events.filter((e) => e.type === 'bad_line')).toEqual([
      expect.objectContaining({ line: 1, code: 'target_in_system_lane' }),
    ]);
    expect(events.filter((e) => e.type === 'failed')).toEqual([
      expect.objectContaining({ id: files[1]?.id, code: 'target_occupied', retryable: false }),
    ]);
    expect(await keysUnder(s3, 'sync/')).toEqual([]);

    const overwritten = await runCli([...args, '--overwrite'], { env });
    expect(overwritten.code).toBe(1);
    expect(
      jsonLines(overwritten.stdout)
        .filter((e) => e.type === 'copied')
        .map((e) => e.objectKey),
    ).toEqual([occupied]);
    expect(await objectSha256(s3, occupied)).toBe(
      await sha256OfContent(files[1]?.id as string, files[1]?.size as number),
    );
  });

  it('sync --since archives the attachments of the forms changed since then, one job per window', async () => {
    const run = await runCli(['sync', '--since', '2026-03-04', '--sandbox', '--json'], { env });
    expect(run.code).toBe(0);
    const events = jsonLines(run.stdout);
    const copied = events.filter((e) => e.type === 'copied').map((e) => String(e.objectKey));
    // Demo forms updated from 2026-03-04 (China time): S26000002, C26000001, P26000001, C26000002.
    expect(copied.sort()).toEqual(
      [
        'forms/custom/C26000001/IiB3xKnG1dJv00-read me.txt',
        'forms/custom/C26000001/JjC4yLoH2eKw00-photo 2026.jpeg',
        'forms/custom/C26000002/LlE6aNqJ4gMy00-活动方案.pptx',
        'forms/payment/P26000001/KkD5zMpI3fLx00-付款回单.pdf',
        'forms/requisition/S26000002/HhA2wJmF0cIu00-合同扫描件.pdf',
      ].sort(),
    );
    const summary = events.at(-1) as { sync: { status: string; jobIds: string[] } };
    expect(summary).toMatchObject({ type: 'summary', ok: true, totals: { copied: 5, failed: 0 } });
    expect(summary.sync.status).toBe('done');
    expect(summary.sync.jobIds.length).toBeGreaterThan(0);
    for (const jobId of summary.sync.jobIds) {
      expect(await keysUnder(s3, `jobs/${jobId}/job.json`)).toEqual([`jobs/${jobId}/job.json`]);
    }
  });

  it('refuses download URLs outside the allow-list, as the copy function does (no --sandbox, no insecure flag)', async () => {
    const sandbox = await startEkuaibaoSandbox({ forms: [] });
    try {
      const f = demoFiles()[0];
      const manifest = join(dir, 'guarded.jsonl');
      await writeFile(manifest, `${JSON.stringify({ id: f?.id, key: f?.key })}\n`);
      const run = await runCli(
        ['copy', '--manifest', manifest, '--json', '--key-template', 'guarded/{fileId}'],
        {
          env: cleanEnv({
            ...s3.env,
            EKB_BUCKET: s3.bucket,
            EKB_BASE_URL: sandbox.baseUrl,
            EKB_APP_KEY: sandbox.appKey,
            EKB_APP_SECURITY: sandbox.appSecurity,
          }),
        },
      );
      expect(run.code).toBe(1);
      expect(jsonLines(run.stdout).filter((e) => e.type === 'failed')).toEqual([
        expect.objectContaining({ id: f?.id, code: 'download_host_not_allowed', retryable: false }),
      ]);
      expect(sandbox.stats.downloadsStarted).toBe(0);
      expect(await keysUnder(s3, 'guarded/')).toEqual([]);
    } finally {
      await sandbox.close();
    }
  });

  it('Ctrl-C aborts the in-flight upload, reports the ref cancelled (events and the bucket), leaves no object and exits 130', async () => {
    const sandbox = await startEkuaibaoSandbox({
      files: [
        { id: 'bigSlowFile01', key: 'openapi-big-slow.bin', fileName: 'big.bin', size: 64 * 1024 * 1024 },
      ],
      forms: [],
    });
    try {
      // 64 MiB at 2 MB/s would take half a minute: the run is interrupted long before.
      sandbox.inject({ kind: 'slowBody', route: 'download', bytesPerSecond: 2_000_000, times: 5 });
      const manifest = join(dir, 'big.jsonl');
      await writeFile(manifest, '{"id":"bigSlowFile01","key":"openapi-big-slow.bin"}\n');
      let pid = 0;
      const running = runCli(
        [
          'copy',
          '--manifest',
          manifest,
          '--json',
          '--key-template',
          'abort/{fileName}',
          '--job-id',
          'ctrl-c',
        ],
        {
          env: cleanEnv({
            ...s3.env,
            EKB_BUCKET: s3.bucket,
            EKB_BASE_URL: sandbox.baseUrl,
            EKB_APP_KEY: sandbox.appKey,
            EKB_APP_SECURITY: sandbox.appSecurity,
            EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
          }),
          onSpawn: (p) => {
            pid = p;
          },
        },
      );
      const deadline = Date.now() + 20_000;
      while (sandbox.stats.downloadsStarted === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(sandbox.stats.downloadsStarted).toBe(1);
      await new Promise((r) => setTimeout(r, 300));
      const interruptedAt = Date.now();
      process.kill(pid, 'SIGINT');
      const run = await running;
      // Promptly: the upload is aborted, not left to run for the half minute the body would take.
      expect(Date.now() - interruptedAt).toBeLessThan(10_000);
      expect(run.code).toBe(130);
      const events = jsonLines(run.stdout);
      expect(events.filter((e) => e.type === 'failed')).toEqual([
        expect.objectContaining({ id: 'bigSlowFile01', code: 'cancelled', retryable: true }),
      ]);
      // The job's report in the bucket says so too (not "deadline … will be retried").
      const report = JSON.parse(
        await (
          await s3.client.send(
            new GetObjectCommand({ Bucket: s3.bucket, Key: 'jobs/ctrl-c/batches/b00001.json' }),
          )
        ).Body!.transformToString(),
      ) as { results: Array<{ code?: string; message?: string }> };
      expect(report.results).toEqual([
        expect.objectContaining({
          code: 'cancelled',
          message: expect.stringMatching(/^cancelled \(Ctrl-C\)/),
        }),
      ]);
      expect(events.at(-1)).toMatchObject({
        type: 'summary',
        aborted: true,
        exitCode: 130,
        totals: { failed: 1 },
      });
      expect(sandbox.stats.downloadsCompleted).toBe(0);
      await expect(
        s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'abort/big.bin' })),
      ).rejects.toMatchObject({ name: 'NotFound' });
    } finally {
      await sandbox.close();
    }
  });
});
