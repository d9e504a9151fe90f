/**
 * What an archived object says about the 合思 file it holds (user metadata written at upload), and whether the
 * object already at a target key is that very file, so a re-run skips it instead of copying it again.
 */

import { INTEGRITY_METADATA_BYTES } from '../integrity/file-record.js';
import { refSourceIdentity } from '../model/ref-identity.js';
import type { CopyRef } from '../model/refs.js';
import type { ObjectHead } from '../ports.js';

/** S3 user metadata may hold 2 KB in all (keys + values); keep clear of it, with room for the integrity entries. */
const METADATA_BUDGET_BYTES = 1_900 - INTEGRITY_METADATA_BYTES;

/** Header-safe metadata value: printable ASCII kept, anything else percent-encoded (deterministic, so comparable). */
function metadataValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
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

function fileIdMetadata(id: string): string {
  const v = metadataValue(id);
  return v.length <= 512 ? v : encodeWithin(id, 512);
}

export function objectMetadata(ref: CopyRef): Record<string, string> {
  if (ref.kind !== undefined && ref.kind !== 'file') return kindMetadata(ref);
  const fileid = fileIdMetadata(ref.id);
  const budget = METADATA_BUDGET_BYTES - 'fileid'.length - fileid.length - 'ekb-key'.length;
  return { fileid, 'ekb-key': encodeWithin(ref.key, Math.max(0, budget)) };
}

/**
 * Flow and invoice refs have no fileId to stand for them (a receipt has none; a flow ref's id is its form's), so
 * their object carries `ekb-source`, the ref's identity (ref-identity.ts), and a real fileId only when 合思 gave one.
 * MERGE POINT: issue 12 (lanes) writes `ekb-source` for every kind; this becomes its case.
 */
function kindMetadata(ref: CopyRef): Record<string, string> {
  const source = sourceMetadata(ref);
  const out: Record<string, string> = { 'ekb-source': source };
  let budget = METADATA_BUDGET_BYTES - 'ekb-source'.length - source.length - 'ekb-key'.length;
  if (ref.kind === 'flow' && ref.fileId !== undefined) {
    out.fileid = fileIdMetadata(ref.fileId);
    budget -= 'fileid'.length + out.fileid.length;
  }
  out['ekb-key'] = encodeWithin(ref.key, Math.max(0, budget));
  return out;
}

function sourceMetadata(ref: CopyRef): string {
  const identity = refSourceIdentity(ref);
  const v = metadataValue(identity);
  return v.length <= 1024 ? v : encodeWithin(identity, 1024);
}

/**
 * The object at the key is this ref's file: same size, and its fileid (when it has one) is the ref's; for flow and
 * invoice refs, its `ekb-source` names the ref.
 */
export function sameObject(head: ObjectHead | undefined, size: number | undefined, ref: CopyRef): boolean {
  if (!head || size === undefined || head.size !== size) return false;
  if (ref.kind !== undefined && ref.kind !== 'file')
    return head.metadata['ekb-source'] === sourceMetadata(ref);
  const fileid = head.metadata.fileid;
  return fileid === undefined || fileid === fileIdMetadata(ref.id);
}
