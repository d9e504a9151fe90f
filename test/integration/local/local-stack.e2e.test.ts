import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord, JobStatus } from '../../../functions/core/model/job.js';
import { sha256OfContent } from '../../../infra/local/sandbox/content.js';
import { demoFiles } from '../../../infra/local/sandbox/demo-data.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { startS3rver } from '../../helpers/s3rver.js';
import { until } from '../../helpers/until.js';
import { isAlive, type RunningStack, s3For, startStack } from './start-stack.js';

async function sha256Of(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of out.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

/** SIGINT to the launcher, as Ctrl-C; every process below it must be gone too. */
async function interrupt(stack: RunningStack): Promise<{ code: number | null; ms: number }> {
  const below = stack.descendants();
  const started = Date.now();
  stack.proc.kill('SIGINT');
  const timer = setTimeout(() => stack.proc.kill('SIGKILL'), 20_000);
  const { code } = await stack.exited;
  clearTimeout(timer);
  const ms = Date.now() - started;
  await until('child processes to exit', async () => (below.some(isAlive) ? undefined : true), 5_000);
  return { code, ms };
}

describe('npm start (local stack as a child process)', () => {
  let dataDir: string;
  let stack: RunningStack;
  let s3: S3Client;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ekb-local-e2e-'));
    // The API jobs below ask for keyTemplate api/… and proof/…: archive lanes this stack is configured with.
    stack = await startStack(dataDir, { EKB_ARCHIVE_PREFIXES: 'api/,proof/' });
    s3 = s3For(stack);
  });
  afterAll(async () => {
    s3?.destroy();
    if (stack && stack.proc.exitCode === null) stack.proc.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('archives a manifest uploaded to manifests/ end to end: every object matches by SHA-256', async () => {
    expect(stack.output()).toContain('SANDBOX at http://127.0.0.1:');
    const files = demoFiles();
    const manifestKey = 'manifests/e2e 上传.jsonl';
    await s3.send(
      new PutObjectCommand({
        Bucket: stack.bucket,
        Key: manifestKey,
        Body: files.map((f) => JSON.stringify({ id: f.id, key: f.key, fileName: f.fileName })).join('\n'),
      }),
    );

    // The S3 event reached fan-out: its job record names the manifest.
    const jobId = await until('the manifest job', async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'jobs/' }));
      for (const o of listed.Contents ?? []) {
        if (!o.Key?.endsWith('/job.json')) continue;
        const got = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: o.Key }));
        const record = JSON.parse(await (got.Body?.transformToString() ?? '{}')) as JobRecord;
        if (record.source.kind === 'manifest' && record.source.key === manifestKey) return record.jobId;
      }
      return undefined;
    });

    const status = await until('the job to finish', async () => {
      const res = await request(`${stack.apiUrl}/copy-jobs/${jobId}`);
      const body = (await res.body.json()) as JobStatus;
      expect(res.statusCode).toBe(200);
      return body.state === 'running' ? undefined : body;
    });
    expect(status).toMatchObject({
      jobId,
      state: 'done',
      totals: { refs: files.length, copied: files.length, failed: 0, pending: 0 },
    });

    const keys: string[] = [];
    let token: string | undefined;
    do {
      // Two keys a page: the embedded S3 only pages with the OpenSSL legacy provider start.ts arranges.
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: stack.bucket,
          Prefix: 'attachments/',
          MaxKeys: 2,
          ContinuationToken: token,
        }),
      );
      keys.push(...(page.Contents ?? []).map((o) => o.Key as string));
      token = page.NextContinuationToken;
    } while (token);
    expect(keys).toHaveLength(files.length);
    for (const f of files) {
      const key = keys.find((k) => k.startsWith(`attachments/${f.id}/`)) as string;
      expect(key).toBeDefined();
      expect(await sha256Of(s3, stack.bucket, key)).toBe(await sha256OfContent(f.id, f.size));
    }
    // The data folder holds the bytes (that is where `npm start` tells people to look).
    const onDisk = await readFile(
      join(dataDir, stack.bucket, `attachments/${files[0]?.id}/${files[0]?.fileName}._S3rver_object`),
    );
    expect(createHash('sha256').update(onDisk).digest('hex')).toBe(
      await sha256OfContent(files[0]?.id as string, files[0]?.size as number),
    );
  });

  it('serves POST /copy-jobs and GET /copy-jobs/{jobId} through the queue and copy function', async () => {
    const f = demoFiles()[3];
    const res = await request(`${stack.apiUrl}/copy-jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refs: [{ id: f?.id, key: f?.key }], keyTemplate: 'api/{fileId}/{fileName}' }),
    });
    expect(res.statusCode).toBe(202);
    const { jobId } = (await res.body.json()) as { jobId: string };
    const status = await until('the API job', async () => {
      const r = await request(`${stack.apiUrl}/copy-jobs/${encodeURIComponent(jobId)}`);
      const body = (await r.body.json()) as JobStatus;
      return body.state === 'running' ? undefined : body;
    });
    expect(status.totals).toMatchObject({ refs: 1, copied: 1 });
    expect(await sha256Of(s3, stack.bucket, `api/${f?.id}/${f?.fileName}`)).toBe(
      await sha256OfContent(f?.id as string, f?.size as number),
    );
    const queues = await request(`${stack.apiUrl}/_local/queues`);
    expect(await queues.body.json()).toMatchObject({
      queue: { waiting: 0, inFlight: 0 },
      deadLetterQueue: [],
    });
  });

  it('exports a job index and verifies the job through the API and the verify queue, before and after a change', async () => {
    const f = demoFiles()[5];
    const created = await request(`${stack.apiUrl}/copy-jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refs: [{ id: f?.id, key: f?.key }], keyTemplate: 'proof/{fileId}/{fileName}' }),
    });
    expect(created.statusCode).toBe(202);
    const { jobId } = (await created.body.json()) as { jobId: string };
    await until('the job', async () => {
      const r = await request(`${stack.apiUrl}/copy-jobs/${encodeURIComponent(jobId)}`);
      return ((await r.body.json()) as JobStatus).state === 'running' ? undefined : true;
    });
    const index = await request(`${stack.apiUrl}/copy-jobs/${encodeURIComponent(jobId)}/index`);
    expect(index.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const [line] = (await index.body.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const objectKey = String(line.objectKey);
    expect(objectKey.startsWith(`proof/${f?.id}/`)).toBe(true);
    expect(line).toMatchObject({
      sha256: await sha256OfContent(f?.id as string, f?.size as number),
      outcome: 'copied',
    });

    const verify = async (): Promise<Record<string, unknown>> => {
      const res = await request(`${stack.apiUrl}/verify-jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jobId }),
      });
      const answer = (await res.body.json()) as { runId: string };
      expect(res.statusCode, JSON.stringify(answer)).toBe(202);
      const { runId } = answer;
      return until('the verify run', async () => {
        const r = await request(`${stack.apiUrl}/verify-jobs/${runId}`);
        const body = (await r.body.json()) as Record<string, unknown>;
        return body.state === 'running' ? undefined : body;
      });
    };
    expect(await verify()).toMatchObject({ state: 'ok', totals: { checked: 1, ok: 1 } });

    // Overwritten behind the archive's back: same length, one byte flipped, the same metadata.
    const got = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: objectKey }));
    const bytes = Buffer.from(
      await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    bytes[0] = (bytes[0] as number) ^ 0xff;
    await s3.send(
      new PutObjectCommand({ Bucket: stack.bucket, Key: objectKey, Body: bytes, Metadata: got.Metadata }),
    );
    expect(await verify()).toMatchObject({
      state: 'differs',
      totals: { checked: 1, changed: 1 },
      findings: [{ objectKey, status: 'changed', method: 'sha256' }],
    });
  });

  it('stops everything on Ctrl-C (SIGINT): exit 0, no process left, ports closed', async () => {
    expect(stack.descendants().length).toBeGreaterThan(0);
    const { code } = await interrupt(stack);
    expect(code).toBe(0);
    expect(stack.output()).toContain('stopped.');
    await expect(request(`${stack.apiUrl}/copy-jobs/x`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('npm start against a tenant (EKB_APP_KEY / EKB_APP_SECURITY / EKB_BASE_URL set)', () => {
  let sandbox: EkuaibaoSandbox;
  let dataDir: string;
  let stack: RunningStack;
  // The two files of the vendor's own example (seed-attachment-download.md), known to "the tenant".
  const vendorFiles = [
    {
      id: '61sbwX3DEAgk00',
      key: 'openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin简介.docx',
      fileName: 'kotlin简介.docx',
      size: 23_456,
    },
    {
      id: '136634573449',
      key: 'DP:{"fileId":"136634437985","fileName":"128163bbba83.jpg","fileSize":2985928,"fileType":"jpg","spaceId":"7215288789"}',
      fileName: '128163bbba83.jpg',
      size: 2_985_928,
    },
  ];

  beforeAll(async () => {
    sandbox = await startEkuaibaoSandbox({ files: vendorFiles, forms: [] });
    dataDir = await mkdtemp(join(tmpdir(), 'ekb-local-tenant-'));
    stack = await startStack(dataDir, {
      EKB_BASE_URL: sandbox.baseUrl,
      EKB_APP_KEY: sandbox.appKey,
      EKB_APP_SECURITY: sandbox.appSecurity,
      // The stand-in tenant serves http on loopback; a real one is https on public hosts.
      EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
      // A failed batch comes back after 5 s instead of the default 2 minutes: long enough that an invocation slowed
      // by a loaded machine is not received a second time while it still runs (1 s was not, at load 13 on 2 cores).
      EKB_LOCAL_VISIBILITY_TIMEOUT_SECONDS: '5',
    });
  });
  afterAll(async () => {
    if (stack && stack.proc.exitCode === null) await interrupt(stack);
    await sandbox?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("answers the vendor's own curl example body with the vendor's response shape", async () => {
    expect(stack.output()).toContain(`合思       ${sandbox.baseUrl} (your tenant)`);
    expect(stack.output()).not.toContain('SANDBOX');
    const fixture = JSON.parse(
      await readFile(
        new URL('../../fixtures/events/api-gateway-v2-download-urls.json', import.meta.url),
        'utf8',
      ),
    ) as { body: string };
    const res = await request(`${stack.apiUrl}/attachments/download-urls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: fixture.body,
    });
    expect(res.statusCode).toBe(200);
    const answer = (await res.body.json()) as Array<Record<string, unknown>>;
    expect(answer.map((a) => [a.id, a.key])).toEqual(vendorFiles.map((f) => [f.id, f.key]));
    for (const item of answer) {
      expect(item.url).toEqual(expect.any(String));
      expect(item.thumbUrl).toEqual(expect.any(String));
    }
    expect(answer[0]?.headers).toBeUndefined();
    expect(answer[1]?.headers).toEqual({
      Authorization: expect.stringMatching(/^OSS /),
      'x-oss-date': expect.any(String),
    });

    // The URLs work as the vendor's do: the DP: one only with its headers.
    const dp = answer[1] as { url: string; headers: Record<string, string> };
    const download = await request(dp.url, { headers: dp.headers });
    expect(download.statusCode).toBe(200);
    const hash = createHash('sha256');
    for await (const chunk of download.body) hash.update(chunk);
    expect(hash.digest('hex')).toBe(await sandbox.sha256('136634573449'));
  });
  it('hands a batch with retryable failures back to the queue and finishes it on the next receive', async () => {
    // Every GET of the first receive answers 503 (the copy engine tries each file 3 times); then the fault is spent.
    sandbox.inject({ kind: 'status', route: 'download', status: 503, times: 3 });
    const res = await request(`${stack.apiUrl}/copy-jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refs: [{ id: vendorFiles[0]?.id, key: vendorFiles[0]?.key }] }),
    });
    expect(res.statusCode).toBe(202);
    const { jobId } = (await res.body.json()) as { jobId: string };
    const status = await until('the retried job', async () => {
      const r = await request(`${stack.apiUrl}/copy-jobs/${encodeURIComponent(jobId)}`);
      const body = (await r.body.json()) as JobStatus;
      return body.state === 'running' ? undefined : body;
    });
    expect(status.totals).toMatchObject({ refs: 1, copied: 1, failed: 0 });
    expect(sandbox.stats.faultsFired.status).toBe(3);
    type Queues = { queue: { received: number; deleted: number }; deadLetterQueue: unknown[] };
    // The report is written inside the invocation; the queue deletes the message only after it returns.
    const queues = await until('the message to be deleted', async () => {
      const q = (await (await request(`${stack.apiUrl}/_local/queues`)).body.json()) as Queues;
      return q.queue.deleted > 0 ? q : undefined;
    });
    expect(queues.queue).toMatchObject({ received: 2, deleted: 1 });
    expect(queues.deadLetterQueue).toEqual([]);
  });
});

describe('npm start -- --once (the demo a new user sees)', () => {
  it('archives the demo files by manifest and by scheduled sync, prints the report and exits 0', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ekb-local-once-'));
    try {
      const stack = await startStack(dataDir, {}, ['--once']);
      const { code } = await stack.exited;
      const out = stack.output();
      expect(code).toBe(0);
      const demoCount = demoFiles().length;
      expect(out).toMatch(new RegExp(`manifest job \\S+: done: ${demoCount} refs, ${demoCount} copied`));
      expect(out).toMatch(/sync job \(.+\) sync-\S+: done: \d+ refs/);
      // The sync archived the demo forms as packages, and the demo shows one with its index.
      expect(out).toMatch(/A form package: s3:\/\/\S+\/forms\/expense\/B26000001\//);
      const index = JSON.parse(
        await readFile(
          join(
            dataDir,
            stack.bucket,
            'forms/expense/B26000001/20260302T011500.000Z/package.json._S3rver_object',
          ),
          'utf8',
        ),
      ) as { complete: boolean; files: unknown[] };
      expect(index.complete).toBe(true);
      expect(out).toContain(
        `its index 20260302T011500.000Z/package.json: complete true, ${index.files.length} files`,
      );
      expect(out).toContain(`${dataDir}/${stack.bucket}/<key>._S3rver_object`);
      const sample = demoFiles()[0];
      const bytes = await readFile(
        join(dataDir, stack.bucket, `attachments/${sample?.id}/${sample?.fileName}._S3rver_object`),
      );
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(
        await sha256OfContent(sample?.id as string, sample?.size as number),
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('npm start with a real bucket (EKB_BUCKET + the AWS SDK settings)', () => {
  it('runs no embedded S3, picks up a manifest someone uploads by polling manifests/, archives into that bucket, and after a restart picks up one uploaded while it was down, each once', async () => {
    // Any S3-compatible endpoint stands in for AWS here; the stack only sees the SDK's standard settings.
    const store = await startS3rver({ bucket: 'customer-archive' });
    const dataDir = await mkdtemp(join(tmpdir(), 'ekb-local-real-'));
    let stack: RunningStack | undefined;
    try {
      stack = await startStack(dataDir, {
        ...store.env,
        EKB_BUCKET: 'customer-archive',
        EKB_LOCAL_MANIFEST_POLL_SECONDS: '1',
      });
      const running = stack;
      expect(running.s3Endpoint).toBeUndefined();
      expect(running.output()).toContain('S3         s3://customer-archive (real bucket');
      const files = demoFiles().slice(5, 8);
      const manifestKey = 'manifests/from-elsewhere.csv';
      await store.client.send(
        new PutObjectCommand({
          Bucket: 'customer-archive',
          Key: manifestKey,
          Body: `id,key,fileName\n${files
            .map((f) => [f.id, f.key, f.fileName].map((v) => `"${v.replace(/"/g, '""')}"`).join(','))
            .join('\n')}\n`,
        }),
      );
      const jobId = await until('the polled manifest job', async () => {
        const listed = await store.client.send(
          new ListObjectsV2Command({ Bucket: 'customer-archive', Prefix: 'jobs/' }),
        );
        for (const o of listed.Contents ?? []) {
          if (!o.Key?.endsWith('/job.json')) continue;
          const got = await store.client.send(
            new GetObjectCommand({ Bucket: 'customer-archive', Key: o.Key }),
          );
          const record = JSON.parse(await (got.Body?.transformToString() ?? '{}')) as JobRecord;
          if (record.source.kind === 'manifest' && record.source.key === manifestKey) return record.jobId;
        }
        return undefined;
      });
      const status = await until('the job to finish', async () => {
        const res = await request(`${running.apiUrl}/copy-jobs/${jobId}`);
        const body = (await res.body.json()) as JobStatus;
        return body.state === 'running' ? undefined : body;
      });
      expect(status.totals).toMatchObject({ refs: 3, copied: 3, failed: 0 });
      for (const f of files) {
        expect(await sha256Of(store.client, 'customer-archive', `attachments/${f.id}/${f.fileName}`)).toBe(
          await sha256OfContent(f.id, f.size),
        );
      }
      const { code } = await interrupt(running);
      expect(code).toBe(0);

      // While it is down, another manifest arrives; started again on the same data folder, it picks that one up
      // (the poller's state is on disk) and does not hand over the first one a second time.
      const later = demoFiles().slice(8, 10);
      const laterKey = 'manifests/while-down.jsonl';
      await store.client.send(
        new PutObjectCommand({
          Bucket: 'customer-archive',
          Key: laterKey,
          Body: later.map((f) => JSON.stringify({ id: f.id, key: f.key, fileName: f.fileName })).join('\n'),
        }),
      );
      stack = await startStack(dataDir, {
        ...store.env,
        EKB_BUCKET: 'customer-archive',
        EKB_LOCAL_MANIFEST_POLL_SECONDS: '1',
      });
      const restarted = stack;
      const manifestJobs = async (): Promise<JobRecord[]> => {
        const records: JobRecord[] = [];
        const listed = await store.client.send(
          new ListObjectsV2Command({ Bucket: 'customer-archive', Prefix: 'jobs/' }),
        );
        for (const o of listed.Contents ?? []) {
          if (!o.Key?.endsWith('/job.json')) continue;
          const got = await store.client.send(
            new GetObjectCommand({ Bucket: 'customer-archive', Key: o.Key }),
          );
          const record = JSON.parse(await (got.Body?.transformToString() ?? '{}')) as JobRecord;
          if (record.source.kind === 'manifest') records.push(record);
        }
        return records;
      };
      const laterJob = await until('the manifest uploaded while down', async () =>
        (await manifestJobs()).find((r) => r.source.kind === 'manifest' && r.source.key === laterKey),
      );
      const laterStatus = await until('its job to finish', async () => {
        const res = await request(`${restarted.apiUrl}/copy-jobs/${laterJob.jobId}`);
        const body = (await res.body.json()) as JobStatus;
        return body.state === 'running' ? undefined : body;
      });
      expect(laterStatus.totals).toMatchObject({ refs: 2, copied: 2, failed: 0 });
      // A few more polls: the first manifest is not handed over again.
      await new Promise((r) => setTimeout(r, 2_500));
      expect((await manifestJobs()).map((r) => (r.source as { key: string }).key).sort()).toEqual(
        [laterKey, manifestKey].sort(),
      );
      expect((await interrupt(restarted)).code).toBe(0);
    } finally {
      if (stack && stack.proc.exitCode === null) stack.proc.kill('SIGKILL');
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
