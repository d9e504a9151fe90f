/**
 * What a download answer says about its file: Content-Type (from the name, or a DP: key's fileType), an ETag,
 * and the one byte range a Range header asks for.
 */
import { createHash } from 'node:crypto';
import type { SandboxFile } from './types.js';

const CONTENT_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  txt: 'text/plain; charset=utf-8',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  ofd: 'application/ofd',
  xml: 'application/xml',
  zip: 'application/zip',
};

export function contentTypeOf(file: Pick<SandboxFile, 'fileName' | 'key' | 'contentType'>): string {
  if (file.contentType) return file.contentType;
  let name = file.fileName;
  if (file.key.startsWith('DP:')) {
    try {
      const inner = JSON.parse(file.key.slice(3)) as { fileType?: unknown; fileName?: unknown };
      if (typeof inner.fileType === 'string') name = `x.${inner.fileType}`;
    } catch {
      // A broken DP: key still downloads; the type falls back to the file name.
    }
  }
  const dot = name.lastIndexOf('.');
  return CONTENT_TYPES[dot < 0 ? '' : name.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}

/** OSS-style ETag: opaque and stable per body (not the MD5 of the content, which would cost a full pass). */
export function etagOf(seed: string, size: number): string {
  return `"${createHash('md5').update(`${seed}\u0000${size}`).digest('hex').toUpperCase()}"`;
}

/** One `bytes=` range as [start, end) or undefined for the whole body; multiple ranges are ignored (RFC 9110). */
export function parseRange(
  value: string | undefined,
  size: number,
): [number, number] | 'unsatisfiable' | undefined {
  if (!value) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size];
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || last < start) return 'unsatisfiable';
  return [start, last + 1];
}
