/**
 * A POST /form-archives request survives `kill -9` of npm start: the request is an object under
 * manifests/form-archives/ whose event waits in the durable manifests queue (the queue file in the data folder),
 * so a stack killed after fan-out queued the package's batches but before it recorded the job plans the request
 * again at the next start and the package lands whole. The built-in demo tenant; no schedule (it would plan forms
 * too).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../../functions/core/model/job.js';
import type { PackageIndex } from '../../../functions/core/model/package.js';
import { until as untilOr } from '../../helpers/until.js';
import { type RunningStack, s3For, startStack } from './start-stack.js';

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> =>
  untilOr(what, probe, timeoutMs);

async function jobStatus(apiUrl: string, jobId: string): Promise<JobStatus> {
  const res = await request(`${apiUrl}/copy-jobs/${encodeURIComponent(jobId)}`);
  return (await res.body.json()) as JobStatus;
}

describe('npm start killed with kill -9 while fan-out plans a POST /form-archives request', () => {
  let dataDir: string;
  let pauseFile: string;
  let stack: RunningStack | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ekb-form-archives-crash-'));
    pauseFile = `${dataDir}-pauses.log`;
  });
  afterAll(async () => {
    if (stack && stack.proc.exitCode === null) await stack.killGroup();
    await rm(dataDir, { recursive: true, force: true });
    await rm(pauseFile, { force: true });
  });

  it('plans the request again at the next start and the package lands whole', async () => {
    // 1. Fan-out stops after queuing the package's batches, before job.json: kill -9 there.
    stack = await startStack(
      dataDir,
      { EKB_LOCAL_TEST_PAUSE_AT: 'batches-queued', EKB_LOCAL_TEST_PAUSE_FILE: pauseFile },
      ['--no-demo'],
      { group: true },
    );
    const posted = await request(`${stack.apiUrl}/form-archives`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ codes: ['P26000001'] }),
    });
    expect(posted.statusCode).toBe(202);
    const { jobId } = (await posted.body.json()) as { jobId: string };
    await until('fan-out to reach its pause point', async () =>
      (await readFile(pauseFile, 'utf8').catch(() => '')).includes('"point":"batches-queued"')
        ? true
        : undefined,
    );
    expect(await jobStatus(stack.apiUrl, jobId)).toMatchObject({ state: 'running', planning: true });
    await stack.killGroup();

    // 2. Started again on the same data: the request's event comes back from the queue file and the job ends done.
    stack = await startStack(dataDir, {}, ['--no-demo'], { group: true });
    expect(stack.output()).toMatch(/recovered .*1 manifest event \(1 interrupted\)/);
    const apiUrl = stack.apiUrl;
    const status = await until(
      'the package job to be done',
      async () => {
        const answer = await jobStatus(apiUrl, jobId);
        return answer.state === 'running' ? undefined : answer;
      },
      90_000,
    );
    expect(status).toMatchObject({
      jobId,
      state: 'done',
      source: { kind: 'form-archives' },
      totals: { failed: 0, pending: 0 },
      packages: { held: 0 },
    });
    // The batch queued before the kill may run before the request is planned again (then the package is found
    // archived already) or after (then it is queued again and its second run finds every file there).
    expect((status.packages?.queued ?? 0) + (status.packages?.unchanged ?? 0)).toBe(1);

    // The package's index says complete and every file it lists is in the bucket with its size.
    const s3 = s3For(stack);
    try {
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'forms/payment/P26000001/' }),
      );
      const objects = new Map((listed.Contents ?? []).map((o) => [o.Key as string, o.Size]));
      const indexKeys = [...objects.keys()].filter((k) => k.endsWith('/package.json'));
      expect(indexKeys).toHaveLength(1);
      const got = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: indexKeys[0] }));
      const index = JSON.parse(await (got.Body?.transformToString() ?? '{}')) as PackageIndex;
      expect(index).toMatchObject({ complete: true, missing: [], form: { code: 'P26000001' } });
      expect(index.files.length).toBeGreaterThan(0);
      for (const f of index.files) expect(objects.get(f.objectKey), f.objectKey).toBe(f.size);
    } finally {
      s3.destroy();
    }
  });
});
