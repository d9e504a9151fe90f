/**
 * `npm start` against `kill -9`: the stack runs as a child process group on a data folder, a manifest job of a few
 * hundred refs is started by uploading the manifest, and the whole group is killed at known points, then started
 * again on the same folder, until the job is done:
 *   1. fan-out has queued the manifest's batches and not yet recorded the job (a test-only pause point holds it
 *      there: EKB_LOCAL_TEST_PAUSE_AT, pause-points.ts);
 *   2. a batch is half copied (one of its files stalls in the sandbox) while the one multipart file is half
 *      uploaded (its body stalls after its first part is in the store);
 *   3. no fault: everything finishes.
 * Every ref must end copied with the sandbox's SHA-256, no object may be short, the job counts each batch once
 * although fan-out queued its batches twice, and GET /copy-jobs/{id} reaches `done`.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord, JobStatus } from '../../../functions/core/model/job.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxFile } from '../../../infra/local/sandbox/types.js';
import { until as untilOr } from '../../helpers/until.js';
import { type RunningStack, s3For, startStack } from './start-stack.js';

const MIB = 1024 * 1024;
const SMALL: SandboxFile[] = Array.from({ length: 300 }, (_, i) => ({
  id: `Stack${String(i).padStart(4, '0')}`,
  key: `openapi5ac0ffee-0000-4000-8000-${String(i).padStart(12, '0')}-doc ${i}.pdf`,
  fileName: `doc ${i}.pdf`,
  size: 800 + i * 11,
}));
/** Three parts of 5 MiB at most (EKB_PART_SIZE_MB=5): a multipart upload. */
const BIG: SandboxFile = {
  id: 'StackBig0001',
  key: 'openapi5ac0ffee-0000-4000-8000-999999999999-scan.tif',
  fileName: 'scan.tif',
  size: 12 * MIB,
};
const FILES = [...SMALL, BIG];
/** In batch b00002 (refs 101-200). */
const STALLED = SMALL[150] as SandboxFile;
const MANIFEST_KEY = 'manifests/crash 测试.jsonl';
const keyOf = (f: SandboxFile) => `attachments/${f.id}/${f.fileName}`;

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> =>
  untilOr(what, probe, timeoutMs);

async function listAll(s3: S3Client, bucket: string, prefix: string) {
  const out: Array<{ key: string; size: number }> = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    out.push(...(page.Contents ?? []).map((o) => ({ key: o.Key as string, size: o.Size ?? -1 })));
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

async function manifestJobId(s3: S3Client, bucket: string): Promise<string | undefined> {
  for (const { key } of await listAll(s3, bucket, 'jobs/')) {
    if (!key.endsWith('/job.json')) continue;
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const record = JSON.parse(await (got.Body?.transformToString() ?? '{}')) as JobRecord;
    if (record.source.kind === 'manifest' && record.source.key === MANIFEST_KEY) return record.jobId;
  }
  return undefined;
}

/** Files under the embedded store's multipart uploads: a `<n>.md5` is written once part n is stored whole. */
async function storedParts(dataDir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, inUploads: boolean): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, inUploads || entry.name.endsWith('_S3rver_uploads'));
      else if (inUploads && /^\d+\.md5$/.test(entry.name)) found.push(path);
    }
  };
  await walk(dataDir, false);
  return found;
}

describe('npm start killed with kill -9 at three points, started again on the same data folder', () => {
  let sandbox: EkuaibaoSandbox;
  let dataDir: string;
  let pauseFile: string;
  let stack: RunningStack | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    sandbox = await startEkuaibaoSandbox({ files: FILES, forms: [] });
    dataDir = await mkdtemp(join(tmpdir(), 'ekb-stack-crash-'));
    pauseFile = `${dataDir}-pauses.log`;
    env = {
      EKB_BASE_URL: sandbox.baseUrl,
      EKB_APP_KEY: sandbox.appKey,
      EKB_APP_SECURITY: sandbox.appSecurity,
      EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
      EKB_PART_SIZE_MB: '5',
      // Every batch in flight at once: the stalls hold two workers, the others go on.
      EKB_LOCAL_COPY_WORKERS: '4',
    };
  });
  afterAll(async () => {
    if (stack && stack.proc.exitCode === null) await stack.killGroup();
    await sandbox?.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(pauseFile, { force: true });
  });

  it('finishes the job with every file whole, each batch counted once', async () => {
    // Armed for the first two runs: a file of b00002 stalls for good, the big file after its first part.
    sandbox.inject({ kind: 'stallBody', route: 'download', afterBytes: 100, fileId: STALLED.id, times: 100 });
    sandbox.inject({ kind: 'stallBody', route: 'download', afterBytes: 7 * MIB, fileId: BIG.id, times: 100 });

    // 1. Fan-out stops after queuing the batches, before job.json: kill -9 there.
    stack = await startStack(
      dataDir,
      { ...env, EKB_LOCAL_TEST_PAUSE_AT: 'batches-queued', EKB_LOCAL_TEST_PAUSE_FILE: pauseFile },
      ['--no-demo'],
      { group: true },
    );
    let s3 = s3For(stack);
    const body = `${FILES.map((f) => JSON.stringify({ id: f.id, key: f.key })).join('\n')}\n`;
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: MANIFEST_KEY, Body: body }));
    await until('fan-out to reach its pause point', async () =>
      (await readFile(pauseFile, 'utf8').catch(() => '')).includes('"point":"batches-queued"')
        ? true
        : undefined,
    );
    expect(await manifestJobId(s3, stack.bucket)).toBeUndefined();
    s3.destroy();
    await stack.killGroup();

    // 2. Started again: the manifest event comes back and the job is recorded; kill -9 with b00002 half copied and
    // the big file half uploaded.
    sandbox.resetStats();
    stack = await startStack(dataDir, env, ['--no-demo'], { group: true });
    expect(stack.output()).toMatch(
      /recovered {2}\d+ batch(es)?( \(\d+ interrupted\))?, 1 manifest event \(1 interrupted\)/,
    );
    s3 = s3For(stack);
    const running = stack;
    const client = s3;
    const jobId = await until('the manifest job to be recorded', () => manifestJobId(client, running.bucket));
    await until('b00002 half copied and the big file half uploaded', async () => {
      const present = new Set((await listAll(client, running.bucket, 'attachments/')).map((o) => o.key));
      const batch2 = SMALL.slice(100, 200).filter((f) => present.has(keyOf(f))).length;
      const parts = await storedParts(dataDir);
      return batch2 >= 1 && !present.has(keyOf(STALLED)) && parts.length >= 1 && !present.has(keyOf(BIG))
        ? true
        : undefined;
    });
    const partial = await listAll(s3, stack.bucket, 'attachments/');
    expect(partial.length).toBeLessThan(FILES.length);
    s3.destroy();
    await stack.killGroup();

    // 3. No fault: the job finishes.
    sandbox.clearFaults();
    stack = await startStack(dataDir, env, ['--no-demo'], { group: true });
    expect(stack.output()).toMatch(/recovered .*store: .*multipart upload/);
    s3 = s3For(stack);
    const apiUrl = stack.apiUrl;
    const status = await until(
      'the job to be done',
      async () => {
        const res = await request(`${apiUrl}/copy-jobs/${encodeURIComponent(jobId)}`);
        const answer = (await res.body.json()) as JobStatus;
        return answer.state === 'running' ? undefined : answer;
      },
      90_000,
    );
    expect(status, JSON.stringify(status).slice(0, 3000)).toMatchObject({
      jobId,
      state: 'done',
      totals: { refs: FILES.length, failed: 0, pending: 0 },
      batches: { total: 4 },
    });
    expect(status.totals.copied + status.totals.skipped).toBe(FILES.length);

    // Every listed object is whole: its size and SHA-256 are the sandbox's.
    const objects = await listAll(s3, stack.bucket, 'attachments/');
    expect(objects).toHaveLength(FILES.length);
    for (const f of FILES) {
      const key = keyOf(f);
      expect(objects.find((o) => o.key === key)?.size).toBe(f.size);
      const got = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key }));
      const hash = createHash('sha256');
      for await (const chunk of got.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
      expect(hash.digest('hex')).toBe(await sandbox.sha256(f.id));
    }
    // Nothing went to a DLQ, no fan-out event failed for good.
    const queues = (await (await request(`${apiUrl}/_local/queues`)).body.json()) as {
      deadLetterQueue: unknown[];
      fanOutFailures: unknown[];
    };
    expect(queues.deadLetterQueue).toEqual([]);
    expect(queues.fanOutFailures).toEqual([]);
    s3.destroy();
  });
});
