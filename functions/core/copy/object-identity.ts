/**
 * What an archived object says about the file it holds (user metadata written at upload), and whether the object
 * already at a target key is that very file, so a re-run skips it instead of copying it again, and anything else
 * there is never silently replaced.
 *
 * Identity is the source, not the size: `ekb-source` (the ref's source identity, e.g. `file:<fileId>`) and
 * `ekb-key-sha256` (hex SHA-256 of the whole 合思 key). `fileid` and `ekb-key` (the key, percent-encoded and cut to
 * fit) are kept for people and for objects archived by older versions, which wrote only those two: such an object
 * is this ref's file when `fileid` matches and `ekb-key` matches the ref's key as far as it was stored.
 */
import { createHash } from 'node:crypto';
import { INTEGRITY_METADATA_BYTES } from '../integrity/file-record.js';
import { refSourceIdentity } from '../model/ref-identity.js';
import type { CopyRef } from '../model/refs.js';
import type { ObjectHead } from '../ports.js';

/** S3 user metadata may hold 2 KB in all (keys + values); keep clear of it, with room for the integrity entries. */
const METADATA_BUDGET_BYTES = 1_900 - INTEGRITY_METADATA_BYTES;
/** An older version cut `ekb-key` at 1,900 − `fileid` (≤ 512) − 13 ≥ 1,375 characters, less one escape (≤ 12). */
const LEGACY_CUT_MIN_CHARS = 1_300;

export const SOURCE_METADATA = 'ekb-source';
export const KEY_SHA256_METADATA = 'ekb-key-sha256';

/**
 * The one identity of a ref's source file (model/ref-identity.ts): a downloadurls ref (fileId + key) is
 * `file:<fileId>`, a form's file `flow:<flowId>:<role>:<key>`, an invoice original `invoice:<id>:<key>`, so every
 * kind is skipped and guarded the same way.
 */
export function sourceIdentity(ref: CopyRef): string {
  return refSourceIdentity(ref);
}

/** Hex SHA-256 of the ref's whole 合思 key (UTF-8): identity without the length limit of metadata. */
export function keySha256(ref: CopyRef): string {
  return createHash('sha256').update(ref.key, 'utf8').digest('hex');
}

/** The real 合思 fileId of a ref, when it has one (a flow ref's id is its form's; a receipt has no fileId). */
function fileIdOf(ref: CopyRef): string | undefined {
  if (ref.kind === undefined || ref.kind === 'file') return ref.id;
  return ref.kind === 'flow' ? ref.fileId : undefined;
}

/** Header-safe metadata value: printable ASCII kept, anything else percent-encoded (deterministic, so comparable). */
function metadataValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value.toWellFormed());
}

/** Percent-encodes `value` whole code point by whole code point until `max` characters are used. */
function encodeWithin(value: string, max: number): string {
  let out = '';
  for (const cp of value.toWellFormed()) {
    const enc = encodeURIComponent(cp);
    if (out.length + enc.length > max) break;
    out += enc;
  }
  return out;
}

function cappedValue(value: string): string {
  const v = metadataValue(value);
  return v.length <= 512 ? v : encodeWithin(value, 512);
}

export function objectMetadata(ref: CopyRef): Record<string, string> {
  const id = fileIdOf(ref);
  const fileid = id === undefined ? undefined : cappedValue(id);
  const source = cappedValue(sourceIdentity(ref));
  const sha = keySha256(ref);
  const used =
    (fileid === undefined ? 0 : 'fileid'.length + fileid.length) +
    SOURCE_METADATA.length +
    source.length +
    KEY_SHA256_METADATA.length +
    sha.length +
    'ekb-key'.length;
  const budget = METADATA_BUDGET_BYTES - used;
  return {
    ...(fileid === undefined ? {} : { fileid }),
    'ekb-key': encodeWithin(ref.key, Math.max(0, budget)),
    [SOURCE_METADATA]: source,
    [KEY_SHA256_METADATA]: sha,
  };
}

/**
 * `same`: the object carries this ref's identity. `legacy`: an older version's object whose `fileid` and stored
 * key match the ref. `other`: anything else (another file, or no identity at all): never skipped.
 */
export type IdentityMatch = 'same' | 'legacy' | 'other';

export function matchIdentity(head: ObjectHead, ref: CopyRef): IdentityMatch {
  const m = head.metadata;
  const source = m[SOURCE_METADATA];
  const sha = m[KEY_SHA256_METADATA];
  if (source !== undefined || sha !== undefined) {
    return source === cappedValue(sourceIdentity(ref)) && sha === keySha256(ref) ? 'same' : 'other';
  }
  // Only downloadurls refs were archived by older versions (fileid + ekb-key, no ekb-source).
  if (ref.kind !== undefined && ref.kind !== 'file') return 'other';
  const fileid = m.fileid;
  const stored = m['ekb-key'];
  if (fileid === undefined || stored === undefined || stored === '' || fileid !== cappedValue(ref.id)) {
    return 'other';
  }
  const full = encodeWithin(ref.key, Number.POSITIVE_INFINITY);
  if (stored === full) return 'legacy';
  return stored.length >= LEGACY_CUT_MIN_CHARS && full.startsWith(stored) ? 'legacy' : 'other';
}

/** What occupies a key, as far as a report may say: identity from its metadata, size, time; never a URL. */
export interface Occupant {
  source?: string;
  fileId?: string;
  size: number;
  lastModified?: string;
}

const shown = (v: string | undefined): string | undefined =>
  v === undefined || v === '' ? undefined : v.replace(/[^\x20-\x7e]/g, '?').slice(0, 128);

export function occupantOf(head: ObjectHead): Occupant {
  const source = shown(head.metadata[SOURCE_METADATA]);
  const fileId = shown(head.metadata.fileid);
  return {
    ...(source === undefined ? {} : { source }),
    ...(fileId === undefined ? {} : { fileId }),
    size: head.size,
    ...(head.lastModified === undefined ? {} : { lastModified: head.lastModified }),
  };
}

export function describeOccupant(o: Occupant): string {
  const who =
    o.source !== undefined
      ? `another file (ekb-source "${o.source}")`
      : o.fileId !== undefined
        ? `another file (fileid "${o.fileId}")`
        : 'an object without archive identity';
  return `${who}, ${o.size} bytes${o.lastModified ? `, last modified ${o.lastModified}` : ''}`;
}
