/**
 * The sandbox's stand-in for Aliyun OSS signing. Two shapes, as 合思 hands them out:
 * - ordinary keys: a query-signed URL (`Expires`, `OSSAccessKeyId`, `Signature`), valid until `Expires`;
 * - `DP:` (DingTalk drive) keys: a bare URL plus `Authorization` and `x-oss-date` headers, accepted by OSS only
 *   for a short window after the signing time, whatever `expiration` the caller asked for.
 * The form-package calls also hand out `?e=<deadline>&token=<ak>:<sig>` URLs (the vipimg host of older tenants).
 * Signatures are HMAC-SHA1 with a per-instance secret, so URLs from one sandbox never work on another.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const OSS_ACCESS_KEY_ID = 'STS.sandbox';
export const DP_ACCESS_KEY_ID = 'LTAIsandbox';
/** The access key of `?e=<deadline>&token=<ak>:<sig>` URLs (the vipimg-style host of older tenants). */
export const TOKEN_ACCESS_KEY = 'sandboxVipimgAk';
export const THUMB_PROCESS = 'image/resize,w_120';

export class Signer {
  readonly #secret: Buffer;

  constructor(secret: Buffer = randomBytes(32)) {
    this.#secret = secret;
  }

  #hmac(text: string): string {
    return createHmac('sha1', this.#secret).update(text, 'utf8').digest('base64');
  }

  /** Signature for a query-signed GET of `resource` (decoded path) until `expires` (epoch seconds). */
  signUrl(resource: string, expires: number, process?: string): string {
    return this.#hmac(`GET\n\n\n${expires}\n${resource}${process ? `?x-oss-process=${process}` : ''}`);
  }

  /** Signature carried in `Authorization: OSS <id>:<sig>` for a header-signed GET. */
  signHeaders(resource: string, ossDate: string): string {
    return this.#hmac(`GET\n\n\n${ossDate}\n${resource}`);
  }

  /** `<ak>:<urlsafe base64 HMAC>` over `<path>?e=<deadline>`, as a `?e=&token=` URL carries it. */
  signDeadline(path: string, deadline: number): string {
    const mac = createHmac('sha1', this.#secret).update(`${path}?e=${deadline}`, 'utf8').digest('base64url');
    return `${TOKEN_ACCESS_KEY}:${mac}`;
  }

  verifyDeadline(path: string, deadline: number, token: string): boolean {
    return safeEqual(this.signDeadline(path, deadline), token);
  }

  verifyUrl(resource: string, expires: number, process: string | undefined, signature: string): boolean {
    return safeEqual(this.signUrl(resource, expires, process), signature);
  }

  verifyHeaders(resource: string, ossDate: string, authorization: string): boolean {
    return safeEqual(`OSS ${DP_ACCESS_KEY_ID}:${this.signHeaders(resource, ossDate)}`, authorization);
  }
}

function safeEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(actual, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** An OSS error answer body (XML, as OSS sends it). */
export function ossErrorXml(code: string, message: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error>\n  <Code>${code}</Code>\n  <Message>${message}</Message>\n` +
    `  <RequestId>sandbox</RequestId>\n  <HostId>127.0.0.1</HostId>\n</Error>\n`
  );
}
