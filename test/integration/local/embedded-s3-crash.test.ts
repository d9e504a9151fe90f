/**
 * The embedded store against `kill -9` and careless clients: the store runs in a child process
 * (store-crash-child.ts) that is killed while bodies are being written, then started again on the same folder.
 * Whatever was cut must not be listed or served; whatever completed must be intact, byte for byte.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreRecovery } from '../../../infra/local/atomic-store.js';
import { type EmbeddedS3, S3RVER_CREDENTIALS, startEmbeddedS3 } from '../../../infra/local/embedded-s3.js';
import { PROJECT_ROOT } from './run-cli.js';

const CHILD = new URL('./store-crash-child.ts', import.meta.url).pathname;
const BUCKET = 'archive';
const MiB = 1024 * 1024;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { ...S3RVER_CREDENTIALS },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A request cut by the kill must fail, not be retried against the dead port.
    maxAttempts: 1,
  });
}

interface StoreProcess {
  proc: ChildProcess;
  endpoint: string;
  recovery: StoreRecovery;
  s3: S3Client;
  killed: Promise<void>;
}

async function startStore(directory: string): Promise<StoreProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, directory, BUCKET], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const killed = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) resolve(text.split('\n')[0] as string);
    });
    proc.on('exit', (code) => reject(new Error(`store exited (${code}) before it started: ${text}`)));
  });
  const started = JSON.parse(line) as { endpoint: string; recovery: StoreRecovery };
  return { proc, ...started, s3: client(started.endpoint), killed };
}

async function kill9(store: StoreProcess): Promise<void> {
  store.proc.kill('SIGKILL');
  await store.killed;
  store.s3.destroy();
}

async function filesUnder(dir: string): Promise<Array<{ path: string; size: number }>> {
  const out: Array<{ path: string; size: number }> = [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    const size = await stat(path).then(
      (s) => s.size,
      () => -1,
    );
    if (size >= 0) out.push({ path, size });
  }
  return out;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A body that sends `sendBytes` of a declared `total`, then stalls (the kill comes meanwhile). */
function stalledBody(sendBytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= sendBytes) return;
      const chunk = randomBytes(Math.min(MiB, sendBytes - sent));
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

async function listAll(s3: S3Client): Promise<Array<{ key: string; size: number }>> {
  const out: Array<{ key: string; size: number }> = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push({ key: o.Key as string, size: o.Size as number });
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

async function getBytes(
  s3: S3Client,
  key: string,
): Promise<{ body: Buffer; etag: string; meta: Record<string, string> }> {
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const body = Buffer.from(
    await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
  return { body, etag: (got.ETag ?? '').replace(/"/g, ''), meta: got.Metadata ?? {} };
}

async function headStatus(s3: S3Client, key: string): Promise<number> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return 200;
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
  }
}

/** Every listed object is whole: its bytes hash to what was uploaded, its size and ETag agree. */
async function expectIntact(s3: S3Client, uploaded: Map<string, Buffer>): Promise<void> {
  const listed = await listAll(s3);
  expect(listed.map((o) => o.key).sort()).toEqual([...uploaded.keys()].sort());
  for (const { key, size } of listed) {
    const expected = uploaded.get(key) as Buffer;
    const { body, etag } = await getBytes(s3, key);
    expect(size).toBe(expected.length);
    expect(sha256(body)).toBe(sha256(expected));
    expect(etag).toBe(createHash('md5').update(body).digest('hex'));
  }
}

describe('embedded S3 across kill -9', () => {
  let root: string;
  let n = 0;
  const freshDir = async () => {
    n += 1;
    const dir = join(root, `s${n}`);
    await mkdir(dir, { recursive: true });
    return dir;
  };
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ekb-store-crash-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('serves no part of a PUT cut by the kill, keeps the old version of an overwritten key, and every complete object whole', async () => {
    const dir = await freshDir();
    const store = await startStore(dir);
    const uploaded = new Map<string, Buffer>();
    const small = randomBytes(MiB + 123);
    await store.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'done/a.bin', Body: small, Metadata: { fileid: 'f-a' } }),
    );
    uploaded.set('done/a.bin', small);
    const big = randomBytes(10 * MiB);
    await new Upload({
      client: store.s3,
      params: { Bucket: BUCKET, Key: 'done/big.bin', Body: big },
      partSize: 5 * MiB,
    }).done();
    uploaded.set('done/big.bin', big);
    const state = Buffer.from(JSON.stringify({ watermark: '2026-03-01T00:00:00Z', v: 1 }));
    await store.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sync/state.json', Body: state }));
    uploaded.set('sync/state.json', state);

    // A large PUT and a new version of sync/state.json, both cut after part of their body arrived.
    const cut = [
      store.s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'partial/huge.bin',
          Body: stalledBody(3 * MiB),
          ContentLength: 64 * MiB,
        }),
      ),
      store.s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'sync/state.json',
          Body: stalledBody(MiB),
          ContentLength: 2 * MiB,
        }),
      ),
    ].map((p) =>
      p.then(
        () => 'completed',
        () => 'failed',
      ),
    );
    await waitFor('both bodies to be partly on disk', async () => {
      const temps = (await filesUnder(dir)).filter((f) => f.path.includes('.ekb-tmp-'));
      const huge = temps.find((f) => f.path.includes('huge.bin') && f.size >= 2 * MiB);
      const json = temps.find((f) => f.path.includes('state.json') && f.size >= MiB / 2);
      return huge && json ? true : undefined;
    });
    await kill9(store);
    expect(await Promise.all(cut)).toEqual(['failed', 'failed']);

    const again = await startStore(dir);
    try {
      expect(again.recovery).toMatchObject({ completed: 0, quarantined: [] });
      expect(again.recovery.incompleteRemoved).toBe(2);
      await expectIntact(again.s3, uploaded);
      expect(await headStatus(again.s3, 'partial/huge.bin')).toBe(404);
      expect(JSON.parse((await getBytes(again.s3, 'sync/state.json')).body.toString())).toEqual({
        watermark: '2026-03-01T00:00:00Z',
        v: 1,
      });
      expect((await getBytes(again.s3, 'done/a.bin')).meta).toEqual({ fileid: 'f-a' });
      expect((await filesUnder(dir)).filter((f) => /\.ekb-(tmp|commit)/.test(f.path))).toEqual([]);
    } finally {
      await kill9(again);
    }
  });

  it('leaves no object when a multipart upload is cut mid-part or while its parts are joined', async () => {
    const dir = await freshDir();
    const store = await startStore(dir);
    const uploaded = new Map<string, Buffer>();
    const whole = randomBytes(MiB);
    await store.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'done/whole.bin', Body: whole }));
    uploaded.set('done/whole.bin', whole);

    // Cut mid-part.
    const { UploadId: partUpload } = await store.s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/cut-part.bin' }),
    );
    await store.s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: 'mp/cut-part.bin',
        UploadId: partUpload,
        PartNumber: 1,
        Body: randomBytes(5 * MiB),
      }),
    );
    const part = store.s3
      .send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: 'mp/cut-part.bin',
          UploadId: partUpload,
          PartNumber: 2,
          Body: stalledBody(2 * MiB),
          ContentLength: 5 * MiB,
        }),
      )
      .then(
        () => 'completed',
        () => 'failed',
      );
    await waitFor('the part to be partly on disk', async () =>
      (await filesUnder(dir)).some((f) => /\/2\.ekb-tmp-/.test(f.path) && f.size >= MiB) ? true : undefined,
    );
    await kill9(store);
    expect(await part).toBe('failed');

    const second = await startStore(dir);
    expect(second.recovery.uploadsRemoved).toBe(1);
    expect(await headStatus(second.s3, 'mp/cut-part.bin')).toBe(404);
    // The client learns that its upload is gone (S3's answer), instead of completing a half-made object.
    await expect(
      second.s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: 'mp/cut-part.bin',
          UploadId: partUpload,
          PartNumber: 2,
          Body: randomBytes(10),
        }),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });

    // Cut while the parts are joined into the object: the moment s3rver itself writes the object in place.
    const key = 'mp/cut-join.bin';
    const { UploadId: joinUpload } = await second.s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }),
    );
    const parts = [];
    for (let i = 1; i <= 4; i += 1) {
      const { ETag } = await second.s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: joinUpload,
          PartNumber: i,
          Body: randomBytes(5 * MiB),
        }),
      );
      parts.push({ PartNumber: i, ETag });
    }
    let completed = false;
    const complete = second.s3
      .send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: joinUpload,
          MultipartUpload: { Parts: parts },
        }),
      )
      .then(
        () => {
          completed = true;
        },
        () => undefined,
      );
    await waitFor('the join to be under way', async () =>
      (await filesUnder(dir)).some(
        (f) => f.path.includes('cut-join.bin._S3rver_object.ekb-tmp-') && f.size > 0,
      )
        ? true
        : undefined,
    );
    await kill9(second);
    await complete;
    expect(completed, 'the join finished before the kill; the test did not cut it').toBe(false);

    const third = await startStore(dir);
    try {
      expect(third.recovery).toMatchObject({ completed: 0, incompleteRemoved: 1, uploadsRemoved: 1 });
      expect(await headStatus(third.s3, key)).toBe(404);
      await expectIntact(third.s3, uploaded);
      expect((await filesUnder(dir)).filter((f) => f.path.includes('_S3rver_uploads'))).toEqual([]);
    } finally {
      await kill9(third);
    }
  });

  it('refuses a second store on a folder another process is serving', async () => {
    const dir = await freshDir();
    const store = await startStore(dir);
    try {
      await expect(startEmbeddedS3({ directory: dir, bucket: BUCKET })).rejects.toMatchObject({
        code: 'local_data_locked',
        message: expect.stringMatching(/is in use by another process/),
      });
    } finally {
      await kill9(store);
    }
    // The lock dies with the process: no stale lock to remove by hand.
    const after = await startEmbeddedS3({ directory: dir, bucket: BUCKET });
    await after.close();
  });
});

describe('embedded S3 recovery of a folder a crash left behind', () => {
  let dir: string;
  let s3e: EmbeddedS3;
  let s3: S3Client;
  const bucketDir = () => join(dir, BUCKET);
  const newBody = Buffer.from('the committed version');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ekb-store-recovery-'));
    const put = async (rel: string, data: string | Buffer) => {
      const path = join(bucketDir(), rel);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, data);
    };
    const md5 = (b: string | Buffer) => createHash('md5').update(b).digest('hex');
    // A whole object as s3rver writes it.
    await put('ok/kept.bin._S3rver_object', 'kept');
    await put('ok/kept.bin._S3rver_object.md5', md5('kept'));
    await put('ok/kept.bin._S3rver_metadata.json', '{"content-type":"application/pdf"}');
    // What s3rver leaves when killed mid-body: the object file, no checksum, no metadata.
    await put('legacy/truncated.pdf._S3rver_object', randomBytes(1000));
    // ...or killed while writing metadata: a 0-byte metadata file (HEAD, GET and listings then answer 500).
    await put('legacy/empty-meta.pdf._S3rver_object', 'bytes');
    await put('legacy/empty-meta.pdf._S3rver_object.md5', md5('bytes'));
    await put('legacy/empty-meta.pdf._S3rver_metadata.json', '');
    // Sidecars of a deleted object.
    await put('legacy/orphan.pdf._S3rver_object.md5', md5('gone'));
    await put('legacy/orphan.pdf._S3rver_metadata.json', '{}');
    // A write that committed (its record is on disk) but was not applied: the old version is still in place.
    await put('ok/committed.bin._S3rver_object', 'the old version');
    await put('ok/committed.bin._S3rver_object.md5', md5('the old version'));
    await put('ok/committed.bin._S3rver_metadata.json', '{"content-type":"text/plain"}');
    await put('ok/committed.bin._S3rver_object.ekb-tmp-0123456789abcdef', newBody);
    await put(
      'ok/committed.bin._S3rver_object.ekb-commit',
      JSON.stringify({
        data: 'committed.bin._S3rver_object.ekb-tmp-0123456789abcdef',
        md5: md5(newBody),
        metadata: { 'content-type': 'application/pdf', 'x-amz-meta-fileid': 'f-new' },
      }),
    );
    // The first write of a key, killed while its commit was applied: sidecars written, body not yet renamed.
    const firstBody = 'the first version';
    await put('ok/first.bin._S3rver_object.md5', md5(firstBody));
    await put(
      'ok/first.bin._S3rver_metadata.json',
      '{"content-type":"text/plain","x-amz-meta-fileid":"f-first"}',
    );
    await put('ok/first.bin._S3rver_object.ekb-tmp-0a0b0c0d0e0f0a0b', firstBody);
    await put(
      'ok/first.bin._S3rver_object.ekb-commit',
      JSON.stringify({
        data: 'first.bin._S3rver_object.ekb-tmp-0a0b0c0d0e0f0a0b',
        md5: md5(firstBody),
        metadata: { 'content-type': 'text/plain', 'x-amz-meta-fileid': 'f-first' },
      }),
    );
    // A write that did not commit, and a commit record still being written.
    await put('ok/uncommitted.bin._S3rver_object.ekb-tmp-fedcba9876543210', 'half');
    await put('ok/kept.bin._S3rver_object.ekb-commit.ekb-tmp-00112233445566ff', '{"da');
    // An unfinished multipart upload.
    await put('._S3rver_uploads/0a1b2c/key', 'mp/never.bin');
    await put('._S3rver_uploads/0a1b2c/metadata', '{}');
    await put('._S3rver_uploads/0a1b2c/1', randomBytes(100));

    s3e = await startEmbeddedS3({ directory: dir, bucket: BUCKET });
    s3 = client(s3e.endpoint);
  });
  afterAll(async () => {
    s3.destroy();
    await s3e.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('finishes committed writes, removes uncommitted ones and orphans, and quarantines objects without metadata', async () => {
    expect(s3e.recovery).toMatchObject({
      completed: 2,
      incompleteRemoved: 2,
      uploadsRemoved: 1,
      orphansRemoved: 2,
    });
    expect(s3e.recovery.quarantined.sort()).toEqual([
      `${BUCKET}/legacy/empty-meta.pdf`,
      `${BUCKET}/legacy/truncated.pdf`,
    ]);
    const listed = await listAll(s3);
    expect(listed.map((o) => o.key)).toEqual(['ok/committed.bin', 'ok/first.bin', 'ok/kept.bin']);
    // Its sidecars were not taken for orphans once the commit had put the object in place.
    const first = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'ok/first.bin' }));
    expect(await first.Body?.transformToString()).toBe('the first version');
    expect(first.Metadata).toEqual({ fileid: 'f-first' });
    const committed = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'ok/committed.bin' }));
    expect(await committed.Body?.transformToString()).toBe(newBody.toString());
    expect(committed.ContentType).toBe('application/pdf');
    expect(committed.Metadata).toEqual({ fileid: 'f-new' });
    for (const key of [
      'legacy/truncated.pdf',
      'legacy/empty-meta.pdf',
      'ok/uncommitted.bin',
      'mp/never.bin',
    ]) {
      expect(await headStatus(s3, key)).toBe(404);
    }
    // Quarantined bytes are kept for a person to look at, outside every bucket.
    const kept = await filesUnder(s3e.recovery.lostAndFound);
    expect(kept.filter((f) => f.path.includes('truncated.pdf._S3rver_object'))).toHaveLength(1);
    expect(kept.filter((f) => f.path.includes('empty-meta.pdf'))).toHaveLength(3);
    const buckets = await s3.send(new ListBucketsCommand({}));
    expect(buckets.Buckets?.map((b) => b.Name)).toEqual([BUCKET]);
  });

  it('never lets a reader see a half-written version of a key being overwritten', async () => {
    const versions = Array.from({ length: 12 }, (_, v) =>
      Buffer.from(JSON.stringify({ v, pad: 'x'.repeat(200_000 + v) })),
    );
    const hashes = new Set(versions.map(sha256));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sync/state.json', Body: versions[0] }));
    let writing = true;
    const writer = (async () => {
      for (const body of versions.slice(1)) {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sync/state.json', Body: body }));
      }
      writing = false;
    })();
    let reads = 0;
    while (writing || reads < 5) {
      const { body, etag } = await getBytes(s3, 'sync/state.json');
      expect(hashes.has(sha256(body))).toBe(true);
      expect(etag).toBe(createHash('md5').update(body).digest('hex'));
      reads += 1;
    }
    await writer;
    expect(sha256((await getBytes(s3, 'sync/state.json')).body)).toBe(sha256(versions.at(-1) as Buffer));
  });

  it('keeps nothing of a PUT whose client hangs up mid-body', async () => {
    const before = await getBytes(s3, 'ok/kept.bin');
    const url = new URL(`${s3e.endpoint}/${BUCKET}/ok/kept.bin`);
    await new Promise<void>((resolve) => {
      // Unsigned is fine: s3rver takes anonymous writes; what matters is the body that never arrives whole.
      const req = request(url, { method: 'PUT', headers: { 'content-length': String(4 * MiB) } });
      req.on('error', () => resolve());
      req.write(randomBytes(MiB), () => setTimeout(() => req.destroy(), 100));
      req.on('close', () => resolve());
    });
    await waitFor('the cut body to be cleaned up', async () =>
      (await filesUnder(bucketDir())).some((f) => f.path.includes('.ekb-tmp-')) ? undefined : true,
    );
    const after = await getBytes(s3, 'ok/kept.bin');
    expect(after.body.equals(before.body)).toBe(true);
    expect(await readFile(s3e.objectPath('ok/kept.bin'), 'utf8')).toBe('kept');
  });
});
