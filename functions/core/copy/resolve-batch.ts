/**
 * The first half of copying a batch: each ref checked on its own (a broken ref fails alone; it must not make the
 * one resolve call, and so the whole batch, fail), the valid ones resolved right before downloading, one call per
 * endpoint (ref-resolution.ts: downloadurls, whose URLs live ≤1800 s and DP: header signatures ~15 min; the
 * one-hour links of flowDetails/attachment and INVOICE/url), and each found ref given its object key.
 * The copy engine runs the planned files; the CLI's dry run prints them.
 */
import { objectKeyFor } from '../attachments/object-key.js';
import { parseDpKey } from '../attachments/ref.js';
import { AppError, ErrorCode } from '../errors.js';
import type { CopyResult } from '../model/copy-result.js';
import { type CopyRef, type DownloadRef, FLOW_FILE_ROLES } from '../model/refs.js';
import type { Resolution, ResolvedAttachment } from '../model/resolution.js';
import type { DownloadUrlResolver, FormFilesSource } from '../ports.js';
import { failed, fromError, stoppedResult } from './copy-failure.js';
import { resolveRefs } from './ref-resolution.js';

/** A ref 合思 answered for, and where its bytes go. */
export interface PlannedFile {
  /** Position in the batch: results come back in input order. */
  index: number;
  ref: DownloadRef;
  resolution: ResolvedAttachment;
  objectKey: string;
}

export interface ResolveBatchInput {
  jobId: string;
  keyTemplate: string | undefined;
  /** Seconds the resolved URLs stay valid (1..1800). */
  expiration: number;
  signal: AbortSignal;
  /** Epoch ms (the one-hour links' expiry). Default Date.now. */
  now?: () => number;
}

export interface ResolvedBatch {
  /** Refs that already have their result (bad ref, not found, no valid key, resolve failed), by position. */
  results: Array<CopyResult | undefined>;
  planned: PlannedFile[];
}

export async function resolveBatch(
  refs: readonly CopyRef[],
  input: ResolveBatchInput,
  resolver: DownloadUrlResolver,
  formFiles?: FormFilesSource,
): Promise<ResolvedBatch> {
  const results: Array<CopyResult | undefined> = new Array(refs.length);
  const valid: Array<{ index: number; ref: DownloadRef }> = [];
  refs.forEach((ref, index) => {
    const problem = refProblem(ref);
    if (problem) results[index] = failed(echoIds(ref), ErrorCode.InvalidRef, problem, false);
    else valid.push({ index, ref: ref as DownloadRef });
  });
  if (valid.length === 0) return { results, planned: [] };
  if (input.signal.aborted) {
    for (const v of valid) results[v.index] = stoppedResult(v.ref, input.signal.reason);
    return { results, planned: [] };
  }

  let resolutions: Resolution[];
  try {
    resolutions = await resolveRefs(
      valid.map((v) => v.ref),
      { files: resolver, formFiles },
      { expiration: input.expiration, signal: input.signal, now: input.now ?? Date.now },
    );
    if (resolutions.length !== valid.length) {
      throw new AppError(ErrorCode.BadUpstreamResponse, 'resolver answered a different number of refs', {
        retryable: true,
      });
    }
  } catch (err) {
    for (const v of valid)
      results[v.index] = input.signal.aborted
        ? stoppedResult(v.ref, input.signal.reason)
        : fromError(v.ref, err);
    return { results, planned: [] };
  }

  const planned: PlannedFile[] = [];
  resolutions.forEach((resolution, i) => {
    const { index, ref } = valid[i] as { index: number; ref: DownloadRef };
    if (resolution.status === 'not_found') {
      results[index] = failed(
        ref,
        resolution.code ?? ErrorCode.NotFound,
        resolution.message ?? '合思 does not know this attachment (id and key)',
        false,
      );
      return;
    }
    try {
      planned.push({
        index,
        ref,
        resolution,
        objectKey: objectKeyFor(ref, resolution, input.keyTemplate, input.jobId),
      });
    } catch (err) {
      results[index] = fromError(ref, err);
    }
  });
  return { results, planned };
}

/** The id and key of a malformed ref, as far as they can be read, for its failed result. */
function echoIds(ref: unknown): CopyRef {
  const o = ref !== null && typeof ref === 'object' ? (ref as Record<string, unknown>) : {};
  const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  return { id: text(o.id), key: text(o.key) };
}

function refProblem(ref: unknown): string | undefined {
  if (ref === null || typeof ref !== 'object') return 'ref must be an object with id and key';
  const { id, key, kind, role } = ref as Record<string, unknown>;
  if (typeof id !== 'string' || id.trim() === '') return 'ref id must be a non-empty string';
  if (typeof key !== 'string' || key === '') return 'ref key must be a non-empty string';
  if (kind === 'flow') {
    return FLOW_FILE_ROLES.includes(role as never)
      ? undefined
      : `flow ref role must be one of ${FLOW_FILE_ROLES}`;
  }
  if (kind === 'invoice') return undefined;
  if (kind === 'package') return 'package parts are written by the package runner, not downloaded';
  if (kind !== undefined && kind !== 'file') return `unknown ref kind ${JSON.stringify(kind)}`;
  try {
    parseDpKey(key);
  } catch (err) {
    return `ref key: ${(err as Error).message}`;
  }
  return undefined;
}
