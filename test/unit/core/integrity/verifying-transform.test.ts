import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Crc64 } from '../../../../functions/core/integrity/crc64.js';
import {
  readSourceChecksums,
  type SourceChecksums,
} from '../../../../functions/core/integrity/source-checksums.js';
import {
  type BodyProof,
  IntegrityError,
  VerifyingTransform,
} from '../../../../functions/core/integrity/verifying-transform.js';

const ascii = (text: string) => Buffer.from(text, 'latin1');
/** A published MD5 in hex, as Content-MD5 carries it (base64 of the 16 bytes). */
const md5Header = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

function checksums(headers: Record<string, string>): SourceChecksums {
  const read = readSourceChecksums(headers);
  if (!('ok' in read)) throw new Error(read.invalid);
  return read.ok;
}

interface Run {
  proof?: BodyProof;
  error?: unknown;
  /** Bytes that came out of the transform. */
  passed: number;
}

/** Streams `chunks` through a VerifyingTransform into a counting sink. */
async function run(
  chunks: Buffer[],
  headers: Record<string, string> = {},
  contentLength: number | undefined = chunks.reduce((n, c) => n + c.length, 0),
): Promise<Run> {
  const verifier = new VerifyingTransform({
    ...(contentLength === undefined ? {} : { contentLength }),
    checksums: checksums(headers),
  });
  let passed = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      passed += chunk.length;
      cb();
    },
  });
  try {
    await pipeline(Readable.from(chunks), verifier, sink);
    return { ...(verifier.proof ? { proof: verifier.proof } : {}), passed };
  } catch (error) {
    return { error, passed };
  }
}

describe('VerifyingTransform: SHA-256 of every body (FIPS 180-2 test vectors)', () => {
  it.each([
    ['the empty body', [''], 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['"abc"', ['abc'], 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'the 448-bit message, in uneven chunks',
      ['abcdbcdecdefdefgefghfghighijhijki', 'jkljklmklmnlmnomnopnopq'],
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
  ])('gives the published digest of %s', async (_name, parts, hex) => {
    const out = await run(parts.map(ascii));
    expect(out.proof?.sha256).toBe(hex);
    expect(out.proof?.source).toEqual({ verified: false });
  });

  it('gives the published digest of one million "a" in 64 KiB chunks', async () => {
    const all = Buffer.alloc(1_000_000, 'a');
    const chunks: Buffer[] = [];
    for (let i = 0; i < all.length; i += 65_536) chunks.push(all.subarray(i, i + 65_536));
    const out = await run(chunks);
    expect(out.proof?.sha256).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
    expect(out.passed).toBe(1_000_000);
  });
});

describe('VerifyingTransform: the source checksums', () => {
  it('passes "123456789" against its CRC-64/XZ check value and records it as sent', async () => {
    const out = await run([ascii('1234'), ascii('56789')], {
      'x-oss-hash-crc64ecma': '11051210869376104954',
    });
    expect(out.error).toBeUndefined();
    expect(out.proof?.source).toEqual({ crc64: '11051210869376104954', verified: true });
  });

  it.each([
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      '57edf4a22be3c955ac49da2e2107b67a',
    ],
  ])('passes %j against its RFC 1321 MD5 sent as Content-MD5', async (text, hex) => {
    const out = await run([ascii(text)], { 'content-md5': md5Header(hex) });
    expect(out.error).toBeUndefined();
    expect(out.proof?.source).toEqual({ md5: md5Header(hex), verified: true });
  });

  it('checks both when both are sent', async () => {
    const out = await run([ascii('123456789')], {
      'x-oss-hash-crc64ecma': '11051210869376104954',
      'content-md5': md5Header('25f9e794323b453885f5181f1b624d0b'),
    });
    expect(out.proof?.source.verified).toBe(true);
    expect(out.proof?.source.md5).toBeDefined();
  });

  it('fails a flipped byte with the right length (CRC-64), and never lets the whole body through', async () => {
    const body = ascii('123456789');
    body[4] = (body[4] as number) ^ 0x01;
    const out = await run([body.subarray(0, 3), body.subarray(3, 6), body.subarray(6)], {
      'x-oss-hash-crc64ecma': '11051210869376104954',
    });
    expect(out.error).toBeInstanceOf(IntegrityError);
    expect(out.error).toMatchObject({ code: 'integrity_mismatch', retryable: true });
    expect((out.error as Error).message).toContain('x-oss-hash-crc64ecma');
    expect(out.passed).toBeLessThan(9);
    expect(out.proof).toBeUndefined();
  });

  it('fails a flipped byte with the right length (Content-MD5) where the CRC-64 is absent', async () => {
    const body = ascii('message digest');
    body[0] = (body[0] as number) ^ 0x80;
    const out = await run([body], { 'content-md5': md5Header('f96b697d7cb7938d525a2f31aaf161d0') });
    expect(out.error).toMatchObject({ code: 'integrity_mismatch' });
    expect(out.passed).toBe(0);
  });

  it('fails a flip anywhere in arbitrary bodies cut at arbitrary places, and passes the unflipped ones', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 2_000 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (bytes, where, mask, cuts) => {
          const body = Buffer.from(bytes);
          // What the source would send: the CRC of the true bytes.
          const crc = { 'x-oss-hash-crc64ecma': new Crc64().update(body).digestDecimal() };
          const points = [0, ...new Set(cuts.map((c) => c % body.length)), body.length].sort((a, b) => a - b);
          const pieces = (b: Buffer) => points.slice(1).map((end, i) => b.subarray(points[i], end));
          const whole = await run([body]);
          expect((await run(pieces(body), crc)).proof?.sha256).toBe(whole.proof?.sha256);
          const flipped = Buffer.from(body);
          flipped[where % body.length] = (flipped[where % body.length] as number) ^ mask;
          const bad = await run(pieces(flipped), crc);
          expect(bad.error).toMatchObject({ code: 'integrity_mismatch' });
          expect(bad.passed).toBeLessThan(body.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('VerifyingTransform: the length', () => {
  it('fails a body shorter than Content-Length with code integrity', async () => {
    const out = await run([ascii('abc')], {}, 5);
    expect(out.error).toMatchObject({ code: 'integrity', retryable: true });
    expect((out.error as Error).message).toBe('body ended after 3 of 5 bytes (Content-Length)');
  });

  it('fails a body longer than Content-Length as soon as it is', async () => {
    const out = await run([ascii('abc'), ascii('def')], {}, 4);
    expect(out.error).toMatchObject({ code: 'integrity' });
    expect((out.error as Error).message).toBe('body longer than Content-Length 4');
  });

  it('takes a body without Content-Length as it comes', async () => {
    const out = await run([ascii('abc')], {}, undefined);
    expect(out.proof?.size).toBe(3);
  });
});

describe('readSourceChecksums', () => {
  it('reads none when the source sent none', () => {
    expect(readSourceChecksums({ etag: '"abc"' })).toEqual({ ok: {} });
  });

  it.each([
    ['x-oss-hash-crc64ecma', '-1'],
    ['x-oss-hash-crc64ecma', '18446744073709551616'],
    ['x-oss-hash-crc64ecma', '0x1234'],
    ['x-oss-hash-crc64ecma', '01'],
    ['x-oss-hash-crc64ecma', ''],
    ['x-oss-hash-crc64ecma', 'not-a-checksum'],
    ['content-md5', 'not-a-checksum'],
    ['content-md5', Buffer.alloc(20).toString('base64')],
    ['content-md5', 'd41d8cd98f00b204e9800998ecf8427e'],
  ])('refuses %s: %j, naming the header', (name, value) => {
    const read = readSourceChecksums({ [name]: value });
    expect('invalid' in read && read.invalid).toContain(name);
  });

  it('refuses two different values of one header, and takes two equal ones', () => {
    expect(readSourceChecksums({ 'x-oss-hash-crc64ecma': ['1', '2'] })).toHaveProperty('invalid');
    expect(readSourceChecksums({ 'x-oss-hash-crc64ecma': ['12', '12'] })).toEqual({
      ok: { crc64: { text: '12', value: 12n } },
    });
  });

  it('shows a hostile value short and printable', () => {
    const read = readSourceChecksums({ 'content-md5': `\u0000${'x'.repeat(500)}` });
    const text = 'invalid' in read ? read.invalid : '';
    expect(text.length).toBeLessThan(100);
    expect(text).not.toContain('\u0000');
  });
});
