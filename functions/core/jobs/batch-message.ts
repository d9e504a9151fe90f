/**
 * Reads one copy-queue message body. The message shape is checked strictly (it decides where the report goes);
 * single refs are not: a bad ref fails alone in copyBatch (invalid_ref) and shows up in the report.
 */
import { ValidationError } from '../errors.js';
import type { BatchMessage } from '../model/batch.js';
import type { PackageInfo } from '../model/package.js';
import type { CopyRef } from '../model/refs.js';
import { isValidJobId } from './keys.js';

/** One downloadurls call answers ≤100 refs; fan-out never sends more per message. */
export const MAX_REFS_PER_MESSAGE = 100;

export function parseBatchMessage(body: string): BatchMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ValidationError('message body is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ValidationError('message body must be a JSON object');
  }
  const m = parsed as Record<string, unknown>;
  if (m.v !== 1) throw new ValidationError(`message v must be 1 (got ${JSON.stringify(m.v) ?? 'nothing'})`);
  if (typeof m.jobId !== 'string' || !isValidJobId(m.jobId)) {
    throw new ValidationError('message jobId must be letters, digits, _ or - (1-128, starting alphanumeric)');
  }
  if (typeof m.batchId !== 'string' || !isValidJobId(m.batchId)) {
    throw new ValidationError(
      'message batchId must be letters, digits, _ or - (1-128, starting alphanumeric)',
    );
  }
  if (!Array.isArray(m.refs) || m.refs.length === 0) {
    throw new ValidationError('message refs must be a non-empty array');
  }
  if (m.refs.length > MAX_REFS_PER_MESSAGE) {
    throw new ValidationError(`message refs holds ${m.refs.length} refs; at most ${MAX_REFS_PER_MESSAGE}`);
  }
  if (m.keyTemplate !== undefined && (typeof m.keyTemplate !== 'string' || m.keyTemplate.trim() === '')) {
    throw new ValidationError('message keyTemplate must be a non-empty string when given');
  }
  const packages = m.packages === undefined ? undefined : readPackages(m.packages);
  if (m.onConflict !== undefined && m.onConflict !== 'overwrite') {
    throw new ValidationError('message onConflict must be "overwrite" when given');
  }
  return {
    v: 1,
    jobId: m.jobId,
    batchId: m.batchId,
    refs: m.refs as CopyRef[],
    ...(m.keyTemplate === undefined ? {} : { keyTemplate: m.keyTemplate as string }),
    ...(packages === undefined ? {} : { packages }),
    ...(m.onConflict === 'overwrite' ? { onConflict: 'overwrite' as const } : {}),
  };
}

/** Form packages decide where a package's objects go, so they are checked as strictly as the envelope. */
function readPackages(raw: unknown): PackageInfo[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ValidationError('message packages must be a non-empty array when given');
  }
  return raw.map((p, i) => {
    const o = (p !== null && typeof p === 'object' ? p : {}) as Record<string, unknown>;
    for (const field of ['flowId', 'code', 'formType', 'version', 'state', 'root'] as const) {
      if (typeof o[field] !== 'string' || (field !== 'state' && o[field] === '')) {
        throw new ValidationError(`message packages[${i}].${field} must be a non-empty string`);
      }
    }
    if (typeof o.updateTime !== 'number' || !Number.isSafeInteger(o.updateTime)) {
      throw new ValidationError(`message packages[${i}].updateTime must be an integer (epoch ms)`);
    }
    const part = o.part as Record<string, unknown> | undefined;
    if (
      part !== undefined &&
      (typeof part !== 'object' ||
        !Number.isSafeInteger(part.index) ||
        !Number.isSafeInteger(part.of) ||
        !Array.isArray(part.batchIds) ||
        !part.batchIds.every((b) => typeof b === 'string' && isValidJobId(b)))
    ) {
      throw new ValidationError(`message packages[${i}].part must be {index, of, batchIds}`);
    }
    return o as unknown as PackageInfo;
  });
}
