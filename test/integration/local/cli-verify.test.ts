/**
 * The proof of a job and its re-check, the way a user runs them (the bin as a child process, the sandbox, s3rver):
 * copy, export the index (`job --index`), `verify` it clean, then change the bucket behind the archive's back — one
 * flipped byte with the right length, one object deleted, one object nobody recorded, one record removed from the
 * index — and `verify` by job, by prefix and by an exported index finds each, exiting 1.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256OfContent } from '../../../infra/local/sandbox/content.js';
import { demoFiles } from '../../../infra/local/sandbox/demo-data.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';
import { cleanEnv, jsonLines, runCli } from './run-cli.js';

const JOB = '20260301T000000Z-verifyclitest001';
const PREFIX = 'proof/';

describe('ekb-archive job --index and verify (bin, sandbox, s3rver)', () => {
  let s3: TestS3;
  let dir: string;
  let env: Record<string, string>;
  const files = demoFiles().slice(0, 5);
  let keys: string[] = [];

  beforeAll(async () => {
    s3 = await startS3rver();
    dir = await mkdtemp(join(tmpdir(), 'ekb-cli-verify-'));
    env = cleanEnv({ ...s3.env, EKB_BUCKET: s3.bucket });
    const manifest = join(dir, 'proof.jsonl');
    await writeFile(manifest, files.map((f) => JSON.stringify({ id: f.id, key: f.key })).join('\n'));
    const copy = await runCli(
      [
        'copy',
        '--manifest',
        manifest,
        '--sandbox',
        '--json',
        '--job-id',
        JOB,
        '--key-template',
        `${PREFIX}{fileId}/{fileName}`,
      ],
      { env },
    );
    expect(copy.code, copy.stderr).toBe(0);
    keys = jsonLines(copy.stdout)
      .filter((e) => e.type === 'copied')
      .map((e) => String(e.objectKey))
      .sort();
    expect(keys).toHaveLength(5);
  }, 120_000);

  afterAll(async () => {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('exports the job index: one record per file with its SHA-256 and the source checksum it was checked against', async () => {
    const run = await runCli(['job', JOB, '--index'], { env });
    expect(run.code, run.stderr).toBe(0);
    const lines = jsonLines(run.stdout);
    expect(lines.map((l) => l.objectKey).sort()).toEqual(keys);
    for (const line of lines) {
      const file = files.find((f) => f.id === line.fileId);
      expect(line.sha256).toBe(
        await sha256OfContent(file?.seed ?? (file?.id as string), file?.size as number),
      );
      expect(line).toMatchObject({ size: file?.size, ekbKey: file?.key, outcome: 'copied' });
      // The sandbox's OSS-style downloads carry x-oss-hash-crc64ecma, as OSS does.
      expect(line.source).toMatchObject({ verified: true, crc64: expect.stringMatching(/^\d+$/) });
    }
    await writeFile(join(dir, 'exported.jsonl'), run.stdout);

    const csv = await runCli(['job', JOB, '--index', '--format', 'csv'], { env });
    const rows = csv.stdout.trimEnd().split('\r\n');
    expect(rows[0]).toBe(
      'objectKey,versionId,size,sha256,sourceCrc64,sourceMd5,sourceVerified,s3ChecksumAlgorithm,s3Checksum,fileId,ekbKey,at,outcome',
    );
    expect(rows).toHaveLength(6);
  });

  it('verifies an untouched job clean (reading the bytes: s3rver keeps no checksums) and exits 0', async () => {
    const run = await runCli(['verify', '--job', JOB, '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const findings = jsonLines(run.stdout).filter((e) => e.type === 'finding');
    expect(findings).toHaveLength(5);
    for (const f of findings) expect(f).toMatchObject({ status: 'ok', method: 'sha256' });
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({
      type: 'summary',
      ok: true,
      exitCode: 0,
      verify: { checked: 5, ok: 5, changed: 0, missing: 0, unrecorded: 0 },
    });
  });

  it('finds a flipped byte, a deleted object, a stranger and a lost record, and exits 1', async () => {
    const [flipped, deleted, unindexed] = keys as [string, string, string];
    // One byte flipped in the stored file, length and metadata untouched: behind the archive's back.
    const path = s3.server.objectPath(flipped);
    const bytes = await readFile(path);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] as number) ^ 0x01;
    await writeFile(path, bytes);
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: deleted }));
    await s3.client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}stranger/notes.txt`, Body: 'not archived' }),
    );
    // The index loses one record (the report still says the file was copied).
    const indexKey = `jobs/${JOB}/index/b00001.jsonl`;
    const index = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: indexKey }));
    const kept = (await index.Body?.transformToString())
      ?.split('\n')
      .filter((l) => l !== '' && JSON.parse(l).objectKey !== unindexed)
      .join('\n');
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: indexKey, Body: `${kept}\n` }));

    const byJob = await runCli(['verify', '--job', JOB, '--json'], { env });
    expect(byJob.code).toBe(1);
    const job: Record<string, Record<string, unknown>> = Object.fromEntries(
      jsonLines(byJob.stdout)
        .filter((e) => e.type === 'finding')
        .map((f) => [String(f.objectKey), f]),
    );
    expect(job[flipped]).toMatchObject({ status: 'changed', method: 'sha256' });
    expect(String(job[flipped]?.detail)).toContain('same length');
    expect(job[deleted]).toMatchObject({ status: 'missing' });
    expect(job[unindexed]).toMatchObject({ status: 'unrecorded' });
    expect(Object.values(job).filter((f) => f.status === 'ok')).toHaveLength(2);

    const byPrefix = await runCli(['verify', '--prefix', PREFIX, '--json'], { env });
    expect(byPrefix.code).toBe(1);
    const prefix = Object.fromEntries(
      jsonLines(byPrefix.stdout)
        .filter((e) => e.type === 'finding')
        .map((f) => [f.objectKey, f.status]),
    );
    expect(prefix).toEqual({
      [flipped]: 'changed',
      [unindexed]: 'ok',
      [keys[3] as string]: 'ok',
      [keys[4] as string]: 'ok',
      [`${PREFIX}stranger/notes.txt`]: 'unrecorded',
    });

    // The exported index, kept outside the bucket, is the evidence a later check needs.
    const exported = await runCli(['verify', '--keys', join(dir, 'exported.jsonl')], { env });
    expect(exported.code).toBe(1);
    expect(exported.stderr).toMatch(
      new RegExp(`changed +${flipped}: the bytes' SHA-256 is not the recorded one`),
    );
    expect(exported.stderr).toMatch(new RegExp(`missing +${deleted}`));
    expect(exported.stdout).toMatch(/^verify: DIFFERS: 5 checked, 3 ok, 1 changed, 1 missing, 0 unrecorded/m);
  });

  it('reports a bad keys line by number and checks the rest; a job that does not exist is a usage error', async () => {
    const list = join(dir, 'keys.txt');
    await writeFile(list, `${keys[3]}\n{"broken\n# a comment\n${keys[4]}\n`);
    const run = await runCli(['verify', '--keys', list, '--json'], { env });
    expect(run.code).toBe(1);
    const findings = jsonLines(run.stdout).filter((e) => e.type === 'finding');
    expect(findings.filter((f) => f.status === 'ok')).toHaveLength(2);
    expect(findings.find((f) => f.status === 'error')).toMatchObject({ line: 2 });

    const none = await runCli(['verify', '--job', '20260101T000000Z-nosuchjob'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('there is no job 20260101T000000Z-nosuchjob');
    const both = await runCli(['verify', '--job', JOB, '--prefix', 'x/'], { env });
    expect(both.code).toBe(2);
  });
});
