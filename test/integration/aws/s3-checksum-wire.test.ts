/**
 * What the S3 sink really puts on the wire, through the real SDK middleware (flexible checksums, signing, our
 * multipart upload): a recording S3 stand-in on 127.0.0.1 answers just enough of the API. aws-sdk-client-mock replaces
 * `send` and so cannot show the headers the SDK adds; s3rver ignores checksums. This shows that with checksums on
 * every UploadPart carries its own CRC64NVME, the upload asks for a full-object CRC64NVME, a single PUT carries our
 * SHA-256, and no body is sent aws-chunked; with checksums off (custom endpoints) no checksum header is sent but
 * the one S3 requires on PutObjectTagging.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Sink } from '../../../functions/aws/s3-sink.js';
import { VerifyingTransform } from '../../../functions/core/integrity/verifying-transform.js';

const MIB = 1024 * 1024;

interface Seen {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

let server: Server;
let endpoint: string;
const seen: Seen[] = [];

function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const url = new URL(req.url ?? '/', 'http://s3.test');
  seen.push({ method: req.method ?? '', url, headers: req.headers, body });
  const q = url.searchParams;
  const xml = (text: string, headers: Record<string, string> = {}) => {
    res.writeHead(200, { 'content-type': 'application/xml', ...headers });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>${text}`);
  };
  if (req.method === 'POST' && q.has('uploads')) {
    xml(
      '<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>',
    );
  } else if (req.method === 'POST' && q.has('uploadId')) {
    xml(
      '<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"m"</ETag>' +
        '<ChecksumCRC64NVME>whole==</ChecksumCRC64NVME><ChecksumType>FULL_OBJECT</ChecksumType></CompleteMultipartUploadResult>',
      { 'x-amz-version-id': 'v-mpu' },
    );
  } else if (req.method === 'PUT' && q.has('tagging')) {
    res.writeHead(200).end();
  } else if (req.method === 'PUT') {
    const echo: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type') echo[name] = String(value);
    }
    res
      .writeHead(200, { etag: `"${q.get('partNumber') ?? 'p'}"`, 'x-amz-version-id': 'v-put', ...echo })
      .end();
  } else {
    res.writeHead(400).end();
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
});

function client(checksums: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED'): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestChecksumCalculation: checksums,
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function data(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 997) b[i] = i & 0xff;
  return b;
}

async function put(c: S3Client, body: Buffer) {
  const verifier = new VerifyingTransform({ contentLength: body.length, checksums: {} });
  Readable.from([body]).pipe(verifier);
  return createS3Sink({ client: c, bucket: 'b', partSizeBytes: 5 * MIB }).put('k', verifier, {
    contentLength: body.length,
    contentType: 'application/pdf',
    contentDisposition: 'attachment',
    metadata: { fileid: 'F1' },
    sha256: () => verifier.proof?.sha256,
    signal: new AbortController().signal,
  });
}

const checksumHeaders = (s: Seen) => Object.keys(s.headers).filter((h) => h.startsWith('x-amz-checksum-'));

describe('S3 sink on the wire', () => {
  it('with checksums on: CRC64NVME on every part, full-object type asked and confirmed, no aws-chunked', async () => {
    const c = client('WHEN_SUPPORTED');
    const body = data(11 * MIB);
    const out = await put(c, body);
    const create = seen.find((s) => s.url.searchParams.has('uploads'));
    expect(create?.headers['x-amz-checksum-algorithm']).toBe('CRC64NVME');
    expect(create?.headers['x-amz-checksum-type']).toBe('FULL_OBJECT');
    const parts = seen.filter((s) => s.url.searchParams.has('partNumber'));
    expect(parts.map((p) => p.body.length).sort((a, b) => a - b)).toEqual([MIB, 5 * MIB, 5 * MIB]);
    const crcs = parts.map((p) => p.headers['x-amz-checksum-crc64nvme'] as string);
    for (const crc of crcs) expect(Buffer.from(crc, 'base64')).toHaveLength(8);
    expect(new Set(crcs).size).toBe(3);
    const complete = seen.find((s) => s.method === 'POST' && s.url.searchParams.has('uploadId'));
    expect(complete?.headers['x-amz-checksum-type']).toBe('FULL_OBJECT');
    expect(complete?.headers['x-amz-mp-object-size']).toBe(String(11 * MIB));
    expect(complete?.body.toString()).toContain('<ChecksumCRC64NVME>');
    for (const s of seen) expect(s.headers['content-encoding'] ?? '').not.toContain('aws-chunked');
    expect(out.checksum).toEqual({ algorithm: 'CRC64NVME', value: 'whole==' });
    expect(out.versionId).toBe('v-mpu');
    const tagging = seen.find((s) => s.url.searchParams.has('tagging'));
    expect(tagging?.url.searchParams.get('versionId')).toBe('v-mpu');
    expect(tagging?.body.toString()).toContain(createHash('sha256').update(body).digest('hex'));
    c.destroy();
  });

  it('with checksums on: a single PUT carries our SHA-256 as its checksum, sent plain', async () => {
    const c = client('WHEN_SUPPORTED');
    const body = data(2 * MIB);
    const out = await put(c, body);
    expect(seen).toHaveLength(1);
    const [only] = seen;
    const sha = createHash('sha256').update(body).digest();
    expect(only?.headers['x-amz-checksum-sha256']).toBe(sha.toString('base64'));
    expect(only?.headers['x-amz-meta-sha256']).toBe(sha.toString('hex'));
    expect(only?.headers['content-length']).toBe(String(2 * MIB));
    expect(only?.body.equals(body)).toBe(true);
    expect(out.checksum).toEqual({ algorithm: 'SHA256', value: sha.toString('base64') });
    c.destroy();
  });

  it('with checksums off (custom endpoints): no checksum header on any request, bodies byte for byte', async () => {
    const c = client('WHEN_REQUIRED');
    await put(c, data(2 * MIB));
    await put(c, data(7 * MIB));
    for (const s of seen) {
      // PutObjectTagging is one of the operations S3 requires a checksum on: the SDK sends one, in a header.
      const required = s.url.searchParams.has('tagging') ? ['x-amz-checksum-crc32'] : [];
      expect(checksumHeaders(s), `${s.method} ${s.url.search}`).toEqual(required);
      expect(s.headers['content-encoding'] ?? '').not.toContain('aws-chunked');
    }
    expect(seen[0]?.headers['x-amz-meta-sha256']).toMatch(/^[0-9a-f]{64}$/);
    c.destroy();
  });
});
