/**
 * Which 合思 file a ref stands for, as one string: the same file reached two ways (the form JSON's walk and
 * flowDetails/attachment both list a form attachment with its fileId) has one identity, so it is archived once,
 * and an object's `ekb-source` metadata says which file it holds.
 *
 * MERGE POINT (CONTRACTS.md §1): issue 12 (lanes) defines the one identity function for every ref
 * (`sourceIdentity(ref)`, `file:<fileId>` for downloadurls refs); this module's kinds fold into it.
 */
import type { CopyRef } from './refs.js';

export function refSourceIdentity(ref: CopyRef, version?: string): string {
  switch (ref.kind) {
    case 'flow':
      return `flow:${ref.id}:${ref.role}:${ref.key}`;
    case 'invoice':
      return `invoice:${ref.id}:${ref.key}`;
    case 'package':
      return `package:${ref.id}:${version ?? ''}:${ref.key}`;
    default:
      return `file:${ref.id}`;
  }
}

/** Identity plus the key: two downloadurls refs with one fileId and different keys are different requests. */
export function refRequestIdentity(ref: CopyRef): string {
  return ref.kind === undefined || ref.kind === 'file'
    ? `file:${ref.id}\u0000${ref.key}`
    : refSourceIdentity(ref);
}
