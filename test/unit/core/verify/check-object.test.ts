import { describe, expect, it } from 'vitest';
import type { FileRecord } from '../../../../functions/core/model/copy-result.js';
import { checkObject } from '../../../../functions/core/verify/check-object.js';
import { FakeArchive, sha256B64, sha256Hex } from './fake-archive.js';

const BODY = Buffer.from('the receipt, byte for byte');
const KEY = 'attachments/F1/a.pdf';

function flipped(): Buffer {
  const b = Buffer.from(BODY);
  b[5] = (b[5] as number) ^ 0x01;
  return b;
}

function record(overrides: Partial<FileRecord> = {}): FileRecord {
  return {
    objectKey: KEY,
    size: BODY.length,
    sha256: sha256Hex(BODY),
    source: { crc64: '1', verified: true },
    fileId: 'F1',
    ekbKey: 'k',
    at: '2026-03-01T00:00:00.000Z',
    ...overrides,
  };
}

const opts = { deep: false };

describe('checkObject against a record', () => {
  it("compares by S3's stored checksum without reading a byte", async () => {
    const archive = new FakeArchive();
    archive.objects.set(KEY, { body: BODY, checksum: { algorithm: 'SHA256', value: sha256B64(BODY) } });
    const f = await checkObject(
      { objectKey: KEY, record: record({ s3Checksum: { algorithm: 'SHA256', value: sha256B64(BODY) } }) },
      archive,
      opts,
    );
    expect(f).toMatchObject({ status: 'ok', method: 's3-checksum', fileId: 'F1' });
    expect(archive.reads).toEqual([]);
  });

  it("finds a changed object by S3's checksum", async () => {
    const archive = new FakeArchive();
    archive.objects.set(KEY, { body: flipped(), checksum: { algorithm: 'CRC64NVME', value: 'bbbb' } });
    const f = await checkObject(
      { objectKey: KEY, record: record({ s3Checksum: { algorithm: 'CRC64NVME', value: 'aaaa' } }) },
      archive,
      opts,
    );
    expect(f).toMatchObject({ status: 'changed', method: 's3-checksum' });
    expect(f.expected?.s3Checksum?.value).toBe('aaaa');
    expect(f.actual?.s3Checksum?.value).toBe('bbbb');
  });

  it('reads and hashes when the store keeps no checksum, and finds one flipped byte with the right length', async () => {
    const archive = new FakeArchive();
    archive.objects.set(KEY, { body: flipped() });
    const f = await checkObject({ objectKey: KEY, record: record() }, archive, opts);
    expect(f).toMatchObject({ status: 'changed', method: 'sha256' });
    expect(f.detail).toContain('same length');
    expect(f.actual?.sha256).toBe(sha256Hex(flipped()));
    expect(archive.reads).toEqual([KEY]);
  });

  it('reads every object with deep, even where a checksum would do', async () => {
    const archive = new FakeArchive();
    archive.objects.set(KEY, { body: BODY, checksum: { algorithm: 'SHA256', value: sha256B64(BODY) } });
    let bytes = 0;
    const f = await checkObject(
      { objectKey: KEY, record: record({ s3Checksum: { algorithm: 'SHA256', value: sha256B64(BODY) } }) },
      archive,
      { deep: true, onBytes: (n) => (bytes += n) },
    );
    expect(f).toMatchObject({ status: 'ok', method: 'sha256' });
    expect(bytes).toBe(BODY.length);
  });

  it('finds a size change without reading, and a missing object', async () => {
    const archive = new FakeArchive();
    archive.objects.set(KEY, { body: Buffer.concat([BODY, Buffer.from('!')]) });
    expect(await checkObject({ objectKey: KEY, record: record() }, archive, opts)).toMatchObject({
      status: 'changed',
      detail: expect.stringContaining(`recorded ${BODY.length}`),
    });
    expect(archive.reads).toEqual([]);
    expect(
      await checkObject({ objectKey: 'gone', record: record({ objectKey: 'gone' }) }, archive, opts),
    ).toMatchObject({
      status: 'missing',
    });
  });

  it('says so when a new version replaced the recorded one with the same content', async () => {
    const archive = new FakeArchive();
    archive.objects.set(KEY, { body: BODY, versionId: 'v2' });
    const f = await checkObject({ objectKey: KEY, record: record({ versionId: 'v1' }) }, archive, opts);
    expect(f.status).toBe('ok');
    expect(f.detail).toContain('current version v2 is not the recorded v1');
  });

  it('reports a store failure for one object as an error, not a crash', async () => {
    const archive = new FakeArchive();
    archive.head = async () => {
      throw Object.assign(new Error('SlowDown'), { name: 'SlowDown' });
    };
    expect(await checkObject({ objectKey: KEY, record: record() }, archive, opts)).toMatchObject({
      status: 'error',
      detail: expect.stringContaining('SlowDown'),
    });
  });
});

describe('checkObject against the proof the object carries', () => {
  it("matches a single PUT's metadata SHA-256 against S3's SHA256 checksum, no download", async () => {
    const archive = new FakeArchive();
    archive.objects.set(KEY, {
      body: BODY,
      metadata: { sha256: sha256Hex(BODY) },
      checksum: { algorithm: 'SHA256', value: sha256B64(BODY) },
    });
    expect(await checkObject({ objectKey: KEY }, archive, opts)).toMatchObject({
      status: 'ok',
      method: 's3-checksum',
    });
    expect(archive.reads).toEqual([]);
  });

  it('hashes a multipart object against its SHA-256 tag, and finds it changed', async () => {
    const archive = new FakeArchive();
    archive.objects.set(KEY, {
      body: flipped(),
      tags: { 'ekb-sha256': sha256Hex(BODY) },
      checksum: { algorithm: 'CRC64NVME', value: 'x' },
    });
    expect(await checkObject({ objectKey: KEY }, archive, opts)).toMatchObject({
      status: 'changed',
      method: 'sha256',
    });
  });

  it('calls an object without any SHA-256 unrecorded, and a reported file without a record too', async () => {
    const archive = new FakeArchive();
    archive.objects.set(KEY, { body: BODY, metadata: { fileid: 'F1' } });
    expect(await checkObject({ objectKey: KEY }, archive, opts)).toMatchObject({ status: 'unrecorded' });
    expect(
      await checkObject({ objectKey: KEY, reportedOnly: true, jobId: 'j' }, archive, opts),
    ).toMatchObject({
      status: 'unrecorded',
      jobId: 'j',
      detail: expect.stringContaining('index holds no record'),
    });
    expect(await checkObject({ objectKey: 'nope', reportedOnly: true }, archive, opts)).toMatchObject({
      status: 'missing',
    });
  });
});
