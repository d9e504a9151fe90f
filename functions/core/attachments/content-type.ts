/**
 * Content-Type and Content-Disposition for archived objects, so a browser opening an archived file from S3 shows or
 * saves it under its original (often Chinese) name.
 */
import { extensionOf, removeControlCharacters } from './object-key.js';

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

const BY_EXTENSION: Record<string, string> = {
  pdf: 'application/pdf',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  heic: 'image/heic',
  // OFD is China's fixed-layout e-invoice format (GB/T 33190); no IANA type, this is the one issuers use.
  ofd: 'application/ofd',
  xml: 'application/xml',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  doc: 'application/msword',
  xls: 'application/vnd.ms-excel',
  ppt: 'application/vnd.ms-powerpoint',
  zip: 'application/zip',
  rar: 'application/vnd.rar',
  '7z': 'application/x-7z-compressed',
  txt: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  mp4: 'video/mp4',
  eml: 'message/rfc822',
  msg: 'application/vnd.ms-outlook',
};

/**
 * The type for a file name; `fileType` (the DP: JSON's type, e.g. "pdf") is used when the name has no known
 * extension. Unknown → application/octet-stream.
 */
export function contentTypeFor(fileName: string, fileType?: string): string {
  const byName = BY_EXTENSION[extensionOf(fileName)];
  if (byName) return byName;
  const t = fileType?.trim().toLowerCase().replace(/^\./, '');
  return (t && BY_EXTENSION[t]) || DEFAULT_CONTENT_TYPE;
}

/** RFC 5987 attr-char: everything else in a UTF-8 name is percent-encoded. */
function encodeRfc5987(value: string): string {
  return Array.from(Buffer.from(value, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9!#$&+\-.^_`|~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/**
 * `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<pct-encoded>` (RFC 6266 §4.3): old clients read the
 * quoted ASCII name (non-ASCII → `_`, quotes and backslashes escaped), current ones the exact UTF-8 name.
 * Control characters are dropped first: they would break the header.
 */
export function contentDisposition(fileName: string): string {
  const name = removeControlCharacters(fileName.toWellFormed().normalize('NFC'));
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, (c) => `\\${c}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeRfc5987(name)}`;
}
