/**
 * One manifest line or API item → a CopyRef, or a BadInput naming the field. Shared by every manifest format and
 * POST /copy-jobs, so a ref is accepted or refused the same way wherever it comes from.
 */

import type { JobItem as ManifestItem } from '../model/job.js';
import type { CopyRef } from '../model/refs.js';
import { objectKeyProblem } from './object-key.js';
import { isDpKey, parseDpKey } from './ref.js';

/** 合思 fileIds are short; 256 leaves room for any id scheme while keeping queue messages small. */
export const MAX_ID_CHARS = 256;
/** DP: keys carry JSON (name, size, space): 2048 is several times the longest seen. */
export const MAX_KEY_CHARS = 2048;
/** Original file names: far beyond any file system's limit, bounded so one ref cannot bloat a batch message. */
export const MAX_FILE_NAME_CHARS = 1024;

export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** `line` is 1-based: the manifest line (CSV: the record's first line) or the item's position in an array. */
export function manifestItemFrom(raw: unknown, line: number): ManifestItem {
  const bad = (message: string): ManifestItem => ({ bad: { line, message } });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return bad(`must be an object with "id" and "key" (got ${kindOf(raw)})`);
  }
  const o = raw as Record<string, unknown>;
  let id: string;
  if (typeof o.id === 'string' && o.id.trim() !== '') {
    id = o.id;
  } else if (typeof o.id === 'number' && Number.isSafeInteger(o.id) && o.id >= 0) {
    // Serializers sometimes send numeric fileIds as numbers; a larger number has already lost digits.
    id = String(o.id);
  } else if (o.id === undefined) {
    return bad('"id" is missing');
  } else {
    return bad(`"id" must be a non-empty string or a non-negative safe integer (got ${kindOf(o.id)})`);
  }
  if (id.length > MAX_ID_CHARS) return bad(`"id" is longer than ${MAX_ID_CHARS} characters`);

  const key = o.key;
  if (key === undefined) return bad('"key" is missing');
  if (typeof key !== 'string' || key === '') {
    return bad(`"key" must be a non-empty string (got ${kindOf(key)})`);
  }
  if (key.length > MAX_KEY_CHARS) return bad(`"key" is longer than ${MAX_KEY_CHARS} characters`);
  if (isDpKey(key)) {
    try {
      parseDpKey(key);
    } catch (err) {
      return bad(`"key" is a DP: key whose JSON is broken (${(err as Error).message})`);
    }
  }

  const ref: CopyRef = { id, key };
  const fileName = optionalString(o.fileName);
  if (fileName === false) return bad(`"fileName" must be a string (got ${kindOf(o.fileName)})`);
  if (fileName !== undefined) {
    if (fileName.length > MAX_FILE_NAME_CHARS) {
      return bad(`"fileName" is longer than ${MAX_FILE_NAME_CHARS} characters`);
    }
    ref.fileName = fileName;
  }
  const targetKey = optionalString(o.targetKey);
  if (targetKey === false) return bad(`"targetKey" must be a string (got ${kindOf(o.targetKey)})`);
  if (targetKey !== undefined) {
    const problem = objectKeyProblem(targetKey);
    if (problem !== undefined) return bad(`"targetKey" ${problem}`);
    ref.targetKey = targetKey;
  }
  return { ok: ref, line };
}

/** Missing, null and '' (an empty CSV cell) all mean "not given"; a non-string is `false`. */
function optionalString(value: unknown): string | undefined | false {
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' ? value : false;
}
