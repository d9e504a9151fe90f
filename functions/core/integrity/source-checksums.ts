/**
 * What a download answer says about its own bytes. Aliyun OSS (where 合思's URLs point) sends
 * `x-oss-hash-crc64ecma` (CRC-64/XZ of the whole object, decimal) on every GET of an object stored since it computes
 * it, and `Content-MD5` (base64 of the MD5) for some uploads; an OSS ETag is not reliably an MD5 and is not used.
 * A header that is present but cannot be a checksum is reported, never trusted and never a crash.
 */
import { parseCrc64Header } from './crc64.js';

export const CRC64_HEADER = 'x-oss-hash-crc64ecma';
export const MD5_HEADER = 'content-md5';

/** The checksums a source offered, as sent (for the record) and parsed (for the check). */
export interface SourceChecksums {
  crc64?: { text: string; value: bigint };
  md5?: { text: string; value: Buffer };
}

export type SourceChecksumsRead = { ok: SourceChecksums } | { invalid: string };

type Headers = Record<string, string | string[] | undefined>;

/** One header's single value; two different values of one checksum are as bad as a malformed one. */
function single(headers: Headers, name: string): { value?: string } | { invalid: string } {
  const raw = headers[name];
  if (raw === undefined) return {};
  const values = Array.isArray(raw) ? [...new Set(raw.map((v) => v.trim()))] : [raw.trim()];
  if (values.length !== 1)
    return { invalid: `${name} was sent ${values.length} times with different values` };
  return { value: values[0] as string };
}

/** Shows a bad header value safely: short, printable (it is echoed into a report). */
function shown(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > 40 ? `${printable.slice(0, 40)}…` : printable);
}

function md5Of(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]{22}==$/.test(text)) return undefined;
  const value = Buffer.from(text, 'base64');
  return value.length === 16 ? value : undefined;
}

/** Reads the integrity headers of one download answer (header names lower-case, as undici gives them). */
export function readSourceChecksums(headers: Headers): SourceChecksumsRead {
  const out: SourceChecksums = {};
  const crc = single(headers, CRC64_HEADER);
  if ('invalid' in crc) return crc;
  if (crc.value !== undefined) {
    const value = parseCrc64Header(crc.value);
    if (value === undefined) {
      return { invalid: `${CRC64_HEADER} ${shown(crc.value)} is not an unsigned 64-bit decimal` };
    }
    out.crc64 = { text: crc.value, value };
  }
  const md5 = single(headers, MD5_HEADER);
  if ('invalid' in md5) return md5;
  if (md5.value !== undefined) {
    const value = md5Of(md5.value);
    if (value === undefined) return { invalid: `${MD5_HEADER} ${shown(md5.value)} is not a base64 MD5` };
    out.md5 = { text: md5.value, value };
  }
  return { ok: out };
}
