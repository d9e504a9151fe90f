/**
 * `ekb-archive archive-forms` as a user runs it (the bin as a child process, the built-in sandbox, s3rver via the
 * SDK's own settings): packages by code and by date range, held forms, unknown codes as bad lines, and flags
 * checked like the API's body.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageIndex } from '../../../functions/core/model/package.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';
import { cleanEnv, jsonLines, runCli } from './run-cli.js';

async function objectBytes(s3: TestS3, key: string): Promise<Buffer> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  const chunks: Buffer[] = [];
  for await (const c of out.Body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function keysUnder(s3: TestS3, prefix: string): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string).sort();
}

describe('ekb-archive archive-forms', () => {
  let s3: TestS3;
  let env: Record<string, string>;

  beforeAll(async () => {
    s3 = await startS3rver();
    env = cleanEnv({ ...s3.env, EKB_BUCKET: s3.bucket });
  });
  afterAll(async () => {
    await s3.close();
  });

  it('archives forms by code as packages, lists held forms, and names unknown codes as bad lines (exit 1)', async () => {
    const run = await runCli(
      ['archive-forms', '--code', 'P26000001', '--code', 'S26000002,NOSUCH01', '--sandbox', '--json'],
      { env },
    );
    expect(run.code).toBe(1);
    const events = jsonLines(run.stdout);
    const summary = events.at(-1) as Record<string, unknown>;
    expect(summary).toMatchObject({
      type: 'summary',
      command: 'archive-forms',
      totals: { failed: 0, badLines: 1 },
      packages: {
        queued: 1,
        held: 1,
        heldForms: [expect.objectContaining({ code: 'S26000002', state: 'approving' })],
      },
    });
    expect(events.find((e) => e.type === 'bad_line')).toMatchObject({
      line: 3,
      message: expect.stringMatching(/NOSUCH01/),
    });

    const indexKey = (await keysUnder(s3, 'forms/payment/P26000001/')).find((k) =>
      k.endsWith('/package.json'),
    );
    const index = JSON.parse((await objectBytes(s3, indexKey as string)).toString('utf8')) as PackageIndex;
    expect(index).toMatchObject({ complete: true, form: { code: 'P26000001', state: 'paid' } });
    for (const f of index.files) {
      const body = await objectBytes(s3, f.objectKey);
      expect(body.length).toBe(f.size);
    }
    const copied = events.filter((e) => e.type === 'copied').map((e) => String(e.objectKey));
    expect(copied).toContain(indexKey);
    expect(await keysUnder(s3, 'forms/requisition/S26000002/')).toEqual([]);
  });

  it('archives every sealed form updated since a date, once: a second run finds them unchanged', async () => {
    const first = await runCli(['archive-forms', '--since', '2026-03-04', '--sandbox', '--json'], { env });
    expect(first.code).toBe(0);
    const summary = jsonLines(first.stdout).at(-1) as {
      packages: { queued: number; unchanged: number; held: number };
    };
    // From 2026-03-04 China time: S26000002 (approving) and C26000002 (draft) are held; C26000001 is sealed, and
    // P26000001 was archived by the test before.
    expect(summary.packages).toMatchObject({ queued: 1, unchanged: 1, held: 2 });
    const index = (await keysUnder(s3, 'forms/custom/C26000001/')).filter((k) => k.endsWith('/package.json'));
    expect(index).toHaveLength(1);
    const sha = createHash('sha256')
      .update(await objectBytes(s3, index[0] as string))
      .digest('hex');

    const again = await runCli(['archive-forms', '--since', '2026-03-04', '--sandbox', '--json'], { env });
    expect(again.code).toBe(0);
    expect((jsonLines(again.stdout).at(-1) as typeof summary).packages).toMatchObject({
      queued: 0,
      unchanged: 2,
    });
    expect(
      createHash('sha256')
        .update(await objectBytes(s3, index[0] as string))
        .digest('hex'),
    ).toBe(sha);
  });

  it('checks its flags like the API checks a body: exit 2 naming the flag', async () => {
    const none = await runCli(['archive-forms', '--sandbox'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/exactly one of --code, --id and --since/);
    const both = await runCli(['archive-forms', '--code', 'A', '--since', '2026-01-01', '--sandbox'], {
      env,
    });
    expect(both.code).toBe(2);
    const badDate = await runCli(['archive-forms', '--since', '2026-02-30', '--sandbox'], { env });
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toMatch(/--since/);
    const badType = await runCli(
      ['archive-forms', '--since', '2026-01-01', '--form-types', 'expense,bogus', '--sandbox'],
      {
        env,
      },
    );
    expect(badType.code).toBe(2);
    expect(badType.stderr).toMatch(/--form-types\[1\]/);
  });
});
