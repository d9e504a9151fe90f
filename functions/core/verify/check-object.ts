/**
 * One object against what was recorded of it. The bytes are compared by S3's stored checksum where the record has
 * one of the same algorithm (HEAD with checksum mode: no download), and by reading them (SHA-256) where it must:
 * no S3 checksum (s3rver, checksums off, older objects) or `deep`. An object known only by its key is checked
 * against the proof it carries (metadata `sha256`, or the tag of a multipart object); one that carries none is
 * `unrecorded`.
 */
import { createHash } from 'node:crypto';
import { objectSha256 } from '../integrity/file-record.js';
import type { FileRecord, S3Checksum } from '../model/copy-result.js';
import type { ExpectedObject, Finding, ObjectFacts } from '../model/verify.js';
import type { ArchiveReader, ObjectHead } from '../ports.js';
import { redactText } from '../util/redact.js';

function safeText(err: unknown): string {
  const raw = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return redactText(raw).slice(0, 300);
}

export interface CheckOptions {
  /** Read and hash every object, even where S3's checksum could answer. */
  deep: boolean;
  signal?: AbortSignal;
  /** Bytes read (for totals and the progress bar). */
  onBytes?: (n: number) => void;
}

const factsOf = (head: ObjectHead, sha256?: string): ObjectFacts => ({
  size: head.size,
  ...(sha256 ? { sha256 } : {}),
  ...(head.checksum ? { s3Checksum: head.checksum } : {}),
  ...(head.versionId ? { versionId: head.versionId } : {}),
});

const recordFacts = (r: FileRecord): ObjectFacts => ({
  size: r.size,
  sha256: r.sha256,
  ...(r.s3Checksum ? { s3Checksum: r.s3Checksum } : {}),
  ...(r.versionId ? { versionId: r.versionId } : {}),
});

async function sha256Of(reader: ArchiveReader, key: string, options: CheckOptions): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await reader.read(key, options.signal)) {
    hash.update(chunk);
    options.onBytes?.(chunk.length);
  }
  return hash.digest('hex');
}

const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/** S3's checksum that can stand for `sha256` / the recorded one, when there is such a pair. */
function comparableChecksum(recorded: S3Checksum | undefined, now: S3Checksum | undefined): boolean {
  return recorded !== undefined && now !== undefined && recorded.algorithm === now.algorithm;
}

export async function checkObject(
  expected: ExpectedObject,
  reader: ArchiveReader,
  options: CheckOptions,
): Promise<Finding> {
  const base: Finding = {
    objectKey: expected.objectKey,
    status: 'ok',
    ...(expected.record?.fileId ? { fileId: expected.record.fileId } : {}),
    ...(expected.jobId ? { jobId: expected.jobId } : {}),
    ...(expected.batchId ? { batchId: expected.batchId } : {}),
    ...(expected.line !== undefined ? { line: expected.line } : {}),
  };
  try {
    const head = await reader.head(expected.objectKey, options.signal);
    if (!head) {
      const detail = expected.reportedOnly
        ? 'the job reports this file archived, but there is no object and no record'
        : 'there is no object at this key';
      return {
        ...base,
        status: 'missing',
        detail,
        ...(expected.record ? { expected: recordFacts(expected.record) } : {}),
      };
    }
    if (expected.record) return await againstRecord(base, expected.record, head, reader, options);
    if (expected.reportedOnly) {
      return {
        ...base,
        status: 'unrecorded',
        detail: 'the job reports this file archived, but its index holds no record of it',
        actual: factsOf(head, objectSha256(head)),
      };
    }
    return await againstOwnProof(base, head, reader, options);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    return { ...base, status: 'error', detail: `could not check: ${safeText(err)}` };
  }
}

async function againstRecord(
  base: Finding,
  record: FileRecord,
  head: ObjectHead,
  reader: ArchiveReader,
  options: CheckOptions,
): Promise<Finding> {
  const expected = recordFacts(record);
  const replaced =
    record.versionId !== undefined && head.versionId !== undefined && record.versionId !== head.versionId
      ? ` (the current version ${head.versionId} is not the recorded ${record.versionId})`
      : '';
  if (head.size !== record.size) {
    return {
      ...base,
      status: 'changed',
      detail: `size ${head.size} bytes, recorded ${record.size}${replaced}`,
      expected,
      actual: factsOf(head),
    };
  }
  if (!options.deep && comparableChecksum(record.s3Checksum, head.checksum)) {
    const same = record.s3Checksum?.value === head.checksum?.value;
    return {
      ...base,
      method: 's3-checksum',
      ...(same
        ? replaced
          ? { detail: `same content${replaced}` }
          : {}
        : {
            status: 'changed',
            detail: `S3's ${head.checksum?.algorithm} checksum is not the recorded one${replaced}`,
            expected,
            actual: factsOf(head),
          }),
    };
  }
  const sha256 = await sha256Of(reader, base.objectKey, options);
  if (sha256 === record.sha256) {
    return { ...base, method: 'sha256', ...(replaced ? { detail: `same content${replaced}` } : {}) };
  }
  return {
    ...base,
    status: 'changed',
    method: 'sha256',
    detail: `the bytes' SHA-256 is not the recorded one (same length)${replaced}`,
    expected,
    actual: factsOf(head, sha256),
  };
}

async function againstOwnProof(
  base: Finding,
  head: ObjectHead,
  reader: ArchiveReader,
  options: CheckOptions,
): Promise<Finding> {
  const claimed = objectSha256(head);
  if (claimed === undefined) {
    return {
      ...base,
      status: 'unrecorded',
      detail: 'the object carries no SHA-256 (not archived by ekb-archive, or before SHA-256s were kept)',
      actual: factsOf(head),
    };
  }
  const expected: ObjectFacts = { size: head.size, sha256: claimed };
  // A single PUT's S3 checksum is the very SHA-256 we sent (base64): S3 answers for the bytes it holds.
  if (!options.deep && head.checksum?.algorithm === 'SHA256') {
    if (head.checksum.value === hexToBase64(claimed)) return { ...base, method: 's3-checksum' };
    return {
      ...base,
      status: 'changed',
      method: 's3-checksum',
      detail: "S3's SHA256 checksum is not the SHA-256 the object was archived with",
      expected,
      actual: factsOf(head),
    };
  }
  const sha256 = await sha256Of(reader, base.objectKey, options);
  if (sha256 === claimed) return { ...base, method: 'sha256' };
  return {
    ...base,
    status: 'changed',
    method: 'sha256',
    detail: "the bytes' SHA-256 is not the one the object was archived with",
    expected,
    actual: factsOf(head, sha256),
  };
}
