/**
 * Deterministic object keys for archived attachments. The same ref always lands on the same key (that is what makes
 * skip-existing and re-runs safe), and no value that comes from 合思 or a manifest can add a path segment, climb out
 * of the prefix with `..`, or smuggle control characters into a key.
 */

import { AppError } from '../errors.js';
import type { CopyRef } from '../model/refs.js';
import type { Resolution } from '../model/resolution.js';
import { fileNameFromKey, isDpKey, parseDpKey } from './ref.js';

export const DEFAULT_OBJECT_KEY_TEMPLATE = 'attachments/{fileId}/{fileName}';
export const OBJECT_KEY_PLACEHOLDERS = [
  'fileId',
  'fileName',
  'jobId',
  'flowCode',
  'flowId',
  'formType',
  'ext',
] as const;

/** S3 allows keys up to 1024 bytes of UTF-8. */
export const MAX_OBJECT_KEY_BYTES = 1024;
/** Leaves room under the 1024-byte key limit for a prefix and the other placeholders. */
export const MAX_FILE_NAME_BYTES = 200;
/** A longer "extension" is not one (e.g. `report.final version of 2024`), so it is not kept whole when capping. */
const MAX_EXT_BYTES = 16;
/** Placeholder values other than the file name (ids, codes) are short; cap them so a template cannot overflow. */
const MAX_PART_BYTES = 128;

/** C0, DEL, C1, bidi embeddings/overrides/isolates, LRM/RLM and BOM: invisible, and some reorder what a reader sees. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Drops control, bidi and BOM characters (see CONTROL). */
export function removeControlCharacters(s: string): string {
  return s.replace(CONTROL, '');
}

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Keeps whole code points from the start of `s` until `maxBytes` UTF-8 bytes are used. */
function truncateUtf8(s: string, maxBytes: number): string {
  let out = '';
  let used = 0;
  for (const cp of s) {
    const n = utf8(cp);
    if (used + n > maxBytes) break;
    out += cp;
    used += n;
  }
  return out;
}

function cleanPart(raw: string): string {
  return raw.toWellFormed().normalize('NFC').replace(CONTROL, '').replace(/[/\\]/g, '_').trim();
}

/**
 * A file name safe to use as one key segment: NFC, no control or bidi characters, no `/` or `\` (→ `_`), trimmed,
 * at most `maxBytes` UTF-8 bytes with its extension kept, CJK and other scripts untouched. A name that ends up
 * empty or made only of dots (`.`/`..`) becomes `fallback`.
 */
export function sanitizeFileName(
  name: string,
  fallback = 'file',
  maxBytes: number = MAX_FILE_NAME_BYTES,
): string {
  let s = cleanPart(name);
  if (utf8(s) > maxBytes) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 ? s.slice(dot) : '';
    if (ext !== '' && utf8(ext) <= MAX_EXT_BYTES) {
      s = `${truncateUtf8(s.slice(0, dot), maxBytes - utf8(ext)).trimEnd()}${ext}`;
    } else {
      s = truncateUtf8(s, maxBytes).trimEnd();
    }
  }
  if (s === '' || /^\.+$/.test(s)) {
    const f = truncateUtf8(cleanPart(fallback), maxBytes).trimEnd();
    return f === '' || /^\.+$/.test(f) ? 'file' : f;
  }
  return s;
}

/** Lower-case extension without the dot, or '' when the name has none. */
export function extensionOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  if (dot <= 0 || dot === fileName.length - 1) return '';
  const ext = fileName.slice(dot + 1).toLowerCase();
  return utf8(ext) <= MAX_EXT_BYTES ? ext : '';
}

/**
 * Checks a complete key: not empty, no leading `/`, no empty, `.` or `..` segment (so no `//` and no trailing `/`),
 * no control or bidi characters, at most 1024 UTF-8 bytes. Returns a reason, or undefined when the key is fine.
 */
export function objectKeyProblem(key: string): string | undefined {
  if (key === '') return 'is empty';
  if (!key.isWellFormed()) return 'is not valid Unicode';
  if (utf8(key) > MAX_OBJECT_KEY_BYTES) return `is longer than ${MAX_OBJECT_KEY_BYTES} bytes`;
  if (new RegExp(CONTROL.source).test(key)) return 'contains control characters';
  if (key.startsWith('/')) return "starts with '/'";
  if (key.includes('\\')) return "contains '\\'";
  for (const seg of key.split('/')) {
    if (seg === '') return "has an empty segment ('//' or a trailing '/')";
    if (seg === '.' || seg === '..') return "has a '.' or '..' segment";
  }
  return undefined;
}

function lastSegment(key: string): string | undefined {
  if (isDpKey(key)) return undefined;
  const seg = key.split('/').pop();
  return seg === undefined || seg.trim() === '' ? undefined : seg;
}

function dpFileName(key: string): string | undefined {
  try {
    return parseDpKey(key)?.fileName;
  } catch {
    return undefined;
  }
}

/**
 * The name a file is archived under, in order of trust: the ref's own fileName (form attachment, manifest column),
 * the resolver's (DP: JSON or the `openapi<uuid>-<name>` key), the DP: JSON, the name inside an
 * `openapi<uuid>-<name>` key, the key's last segment, the fileId.
 * Unsanitised: Content-Disposition carries it as is; the key uses the sanitised form.
 */
export function originalFileName(ref: CopyRef, resolution?: Resolution): string {
  const candidates = [
    ref.fileName,
    resolution?.status === 'resolved' ? resolution.fileName : undefined,
    dpFileName(ref.key),
    isDpKey(ref.key) ? undefined : fileNameFromKey(ref.key),
    lastSegment(ref.key),
  ];
  for (const c of candidates) {
    if (typeof c === 'string' && cleanPart(c) !== '' && !/^\.+$/.test(cleanPart(c))) return c;
  }
  return ref.id;
}

/** Placeholder syntax of a key template: every `{` closed, no nesting, no stray `}`, no empty or unknown name. */
export function templateSyntaxProblem(template: string): string | undefined {
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if (ch === '}') return `has a '}' without its '{' at character ${i + 1}`;
    if (ch !== '{') continue;
    const close = template.indexOf('}', i + 1);
    const nested = template.indexOf('{', i + 1);
    if (close < 0) return `has an unclosed '{' at character ${i + 1}`;
    if (nested >= 0 && nested < close) return `has a '{' inside a placeholder at character ${nested + 1}`;
    const name = template.slice(i + 1, close);
    if (!(OBJECT_KEY_PLACEHOLDERS as readonly string[]).includes(name)) {
      const known = OBJECT_KEY_PLACEHOLDERS.map((p) => `{${p}}`).join(' ');
      return `has an unknown placeholder {${name}} (known: ${known})`;
    }
    i = close;
  }
  return undefined;
}

/**
 * The object key for a ref: `ref.targetKey` when given (validated; a bad one → AppError `invalid_target_key`),
 * else `template` filled in. Each placeholder value is sanitised as one segment; missing template vars become
 * `unknown`; an unknown placeholder or a key that still breaks the rules → AppError `invalid_object_key`.
 */
export function objectKeyFor(
  ref: CopyRef,
  resolution: Resolution | undefined,
  template: string = DEFAULT_OBJECT_KEY_TEMPLATE,
  jobId = 'unknown',
): string {
  if (ref.targetKey !== undefined) {
    const problem = objectKeyProblem(ref.targetKey);
    if (problem) throw new AppError('invalid_target_key', `targetKey ${problem}`, { status: 400 });
    return ref.targetKey;
  }
  const fileName = sanitizeFileName(originalFileName(ref, resolution), sanitizeFileName(ref.id));
  const part = (v: string | undefined): string =>
    v === undefined ? 'unknown' : sanitizeFileName(v, 'unknown', MAX_PART_BYTES);
  const values: Record<(typeof OBJECT_KEY_PLACEHOLDERS)[number], string> = {
    fileId: part(ref.id),
    fileName,
    jobId: part(jobId),
    flowCode: part(ref.vars?.flowCode),
    flowId: part(ref.vars?.flowId),
    formType: part(ref.vars?.formType),
    ext: extensionOf(fileName),
  };
  // An unclosed `{` would otherwise be written literally; an unknown name would be left in the key.
  const syntax = templateSyntaxProblem(template);
  if (syntax) throw new AppError('invalid_object_key', `object key template ${syntax}`, { status: 400 });
  const key = template.replace(/\{([^{}]*)\}/g, (_m, name: string) => values[name as keyof typeof values]);
  const problem = objectKeyProblem(key);
  if (problem) throw new AppError('invalid_object_key', `object key ${problem}`, { status: 400 });
  return key;
}
