import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PAYLOAD_HASH_HEADER,
  signWithKnownSha256,
  UNSIGNED_PAYLOAD,
  unsignedPartsWhen,
  usesTls,
} from '../../../functions/aws/payload-hash.js';
import { createS3Client } from '../../../functions/aws/s3-client.js';
import { createS3Sink } from '../../../functions/aws/s3-sink.js';
import { startS3rver, type TestS3 } from '../../helpers/s3rver.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** An HTTP relay in front of s3rver that keeps every request's method, path and headers. */
async function startRelay(
  target: string,
): Promise<{ endpoint: string; seen: Seen[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('payload hashes for SigV4', () => {
  let s3: TestS3;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await startS3rver();
    relay = await startRelay(s3.endpoint);
    client = createS3Client({
      env: { AWS_ENDPOINT_URL_S3: relay.endpoint },
      region: s3.env.AWS_REGION,
      credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID!, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY! },
    });
  });
  afterAll(async () => {
    client.destroy();
    await relay.close();
    await s3.close();
  });

  async function stored(key: string): Promise<Buffer> {
    const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  }

  it('signs a single PUT by the SHA-256 it is given instead of hashing the body again; the body arrives whole', async () => {
    const body = Buffer.alloc(200_000, 3);
    relay.seen.length = 0;
    await client.send(
      signWithKnownSha256(
        new PutObjectCommand({ Bucket: s3.bucket, Key: 'hash/known.bin', Body: body }),
        sha256(body),
      ),
    );
    expect(relay.seen.filter((r) => r.method === 'PUT').map((r) => r.headers[PAYLOAD_HASH_HEADER])).toEqual([
      sha256(body),
    ]);
    expect((await stored('hash/known.bin')).equals(body)).toBe(true);
  });

  it('sends what it was given, not a hash of its own: the header is the caller’s value even when it is another body’s', async () => {
    const body = Buffer.alloc(1000, 4);
    const other = sha256(Buffer.from('another body'));
    relay.seen.length = 0;
    // s3rver does not check the body against the header (AWS S3 refuses it: XAmzContentSHA256Mismatch).
    await client.send(
      signWithKnownSha256(
        new PutObjectCommand({ Bucket: s3.bucket, Key: 'hash/other.bin', Body: body }),
        other,
      ),
    );
    expect(relay.seen.find((r) => r.method === 'PUT')?.headers[PAYLOAD_HASH_HEADER]).toBe(other);
    expect(() => signWithKnownSha256(new PutObjectCommand({ Bucket: 'b', Key: 'k' }), 'not-a-hash')).toThrow(
      /not a hex SHA-256/,
    );
  });

  it('sends multipart parts UNSIGNED-PAYLOAD only while their bytes are proven otherwise, and stores them whole', async () => {
    let proven = false;
    unsignedPartsWhen(client, async () => proven);
    const body = Buffer.concat([Buffer.alloc(5 * 1024 * 1024, 1), Buffer.alloc(1024 * 1024, 2)]);
    const partHashes = async (key: string): Promise<string[]> => {
      relay.seen.length = 0;
      await new Upload({
        client,
        params: { Bucket: s3.bucket, Key: key, Body: body },
        partSize: 5 * 1024 * 1024,
      }).done();
      expect((await stored(key)).equals(body)).toBe(true);
      return relay.seen
        .filter((r) => r.method === 'PUT' && r.url.includes('partNumber='))
        .map((r) => String(r.headers[PAYLOAD_HASH_HEADER]));
    };
    const signed = await partHashes('hash/parts-signed.bin');
    expect(signed).toEqual([
      sha256(body.subarray(0, 5 * 1024 * 1024)),
      sha256(body.subarray(5 * 1024 * 1024)),
    ]);
    proven = true;
    expect(await partHashes('hash/parts-unsigned.bin')).toEqual([UNSIGNED_PAYLOAD, UNSIGNED_PAYLOAD]);
    // Other requests of the upload keep their own hash (CreateMultipartUpload, CompleteMultipartUpload).
    expect(
      relay.seen
        .filter((r) => !r.url.includes('partNumber='))
        .every((r) => r.headers[PAYLOAD_HASH_HEADER] !== UNSIGNED_PAYLOAD),
    ).toBe(true);
  });

  it('the S3 sink signs parts over plain http without checksums, and sends them unsigned once checksums prove them', async () => {
    const body = Buffer.concat([Buffer.alloc(5 * 1024 * 1024, 5), Buffer.alloc(512 * 1024, 6)]);
    const credentials = {
      accessKeyId: s3.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY!,
    };
    const partHeaders = async (checksums: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED', key: string) => {
      const own = createS3Client({
        env: { AWS_ENDPOINT_URL_S3: relay.endpoint },
        region: s3.env.AWS_REGION,
        credentials,
        requestChecksumCalculation: checksums,
      });
      try {
        relay.seen.length = 0;
        const sink = createS3Sink({ client: own, bucket: s3.bucket, partSizeBytes: 5 * 1024 * 1024 });
        await sink.put(key, Readable.from([body]), {
          contentLength: body.length,
          contentType: 'application/octet-stream',
          contentDisposition: 'attachment',
          metadata: {},
          signal: new AbortController().signal,
        });
        expect((await stored(key)).equals(body)).toBe(true);
        return relay.seen
          .filter((r) => r.method === 'PUT' && r.url.includes('partNumber='))
          .map((r) => String(r.headers[PAYLOAD_HASH_HEADER]));
      } finally {
        own.destroy();
      }
    };
    const signed = await partHeaders('WHEN_REQUIRED', 'hash/sink-signed.bin');
    expect(signed).toHaveLength(2);
    expect(signed.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
    expect(await partHeaders('WHEN_SUPPORTED', 'hash/sink-unsigned.bin')).toEqual([
      UNSIGNED_PAYLOAD,
      UNSIGNED_PAYLOAD,
    ]);
  });

  it("the S3 sink signs a single PUT by the verified body's SHA-256, the same value it stores in the metadata", async () => {
    const body = Buffer.alloc(300_000, 8);
    relay.seen.length = 0;
    const sink = createS3Sink({ client, bucket: s3.bucket });
    await sink.put('hash/sink-single.bin', Readable.from([body.subarray(0, 1000), body.subarray(1000)]), {
      contentLength: body.length,
      contentType: 'application/octet-stream',
      contentDisposition: 'attachment',
      metadata: {},
      sha256: () => sha256(body),
      signal: new AbortController().signal,
    });
    const puts = relay.seen.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.headers[PAYLOAD_HASH_HEADER])).toEqual([sha256(body)]);
    expect(puts[0]?.headers['x-amz-meta-sha256']).toBe(sha256(body));
    expect((await stored('hash/sink-single.bin')).equals(body)).toBe(true);
  });

  it('the S3 sink assembles a single PUT from many chunks byte for byte, and sends a body of another length as received', async () => {
    const sink = createS3Sink({ client, bucket: s3.bucket });
    const body = Buffer.from(Array.from({ length: 700_001 }, (_, i) => (i * 31) % 251));
    const chunks = Array.from({ length: 11 }, (_, i) => body.subarray(i * 65_536, (i + 1) * 65_536));
    const put = (contentLength: number) => ({
      contentLength,
      contentType: 'application/octet-stream',
      contentDisposition: 'attachment',
      metadata: {},
      signal: new AbortController().signal,
    });
    await sink.put('hash/chunks.bin', Readable.from(chunks), put(body.length));
    expect((await stored('hash/chunks.bin')).equals(body)).toBe(true);
    // Without the verifying transform in front (which fails such bodies), the sink stores exactly what it read.
    await sink.put('hash/short.bin', Readable.from(chunks.slice(0, 3)), put(body.length));
    expect((await stored('hash/short.bin')).equals(body.subarray(0, 3 * 65_536))).toBe(true);
    await sink.put('hash/long.bin', Readable.from(chunks), put(300_000));
    expect((await stored('hash/long.bin')).equals(body)).toBe(true);
  });

  it('tells TLS endpoints (and AWS itself) from plain http ones', async () => {
    expect(await usesTls(client)).toBe(false);
    const aws = createS3Client({ env: {}, region: 'eu-west-1' });
    const tls = createS3Client({
      env: { AWS_ENDPOINT_URL_S3: 'https://s3.example.com' },
      region: 'eu-west-1',
    });
    expect(await usesTls(aws)).toBe(true);
    expect(await usesTls(tls)).toBe(true);
    aws.destroy();
    tls.destroy();
  });
});
