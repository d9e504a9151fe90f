/**
 * The body of POST /copy-jobs, checked before anything is queued:
 *   {"refs": [{id, key, fileName?, targetKey?}, …], "keyTemplate"?: "…", "onConflict"?: "fail"|"overwrite"}
 *   or {"manifest": "s3://bucket/key", "keyTemplate"?, "onConflict"?}
 * Refs are judged exactly as manifest lines are (manifest-item.ts); a bad one refuses the whole request with a 400
 * naming the item (from 0) and the field, and so does a targetKey outside the archive lanes or in a system lane
 * (lanes.ts), or a keyTemplate whose root is. Too many refs is a 413. Two refs on one object key are not a 400: the
 * job keeps the first and reports the others (target_key_conflict), as for a manifest.
 */
import { keyTemplateProblem, type Lanes, laneProblem } from '../attachments/lanes.js';
import { manifestItemFrom } from '../attachments/manifest-item.js';
import { objectKeyFor } from '../attachments/object-key.js';
import { AppError, TooLargeError, ValidationError } from '../errors.js';
import type { OnConflict } from '../model/job.js';
import type { CopyRef } from '../model/refs.js';
import { jsonObject, parseJsonBody } from '../util/json-body.js';

/** Refs one request may carry; larger jobs belong in a manifest (no size limit, read as a stream). */
export const DEFAULT_MAX_JOB_REFS = 10_000;
const MAX_TEMPLATE_CHARS = 512;
/** A 400 names this many bad refs; the count says how many there were. */
const MAX_NAMED_PROBLEMS = 5;

interface JobOptions {
  keyTemplate?: string;
  onConflict?: 'overwrite';
}

export type CopyJobRequest =
  | ({ kind: 'refs'; refs: CopyRef[] } & JobOptions)
  | ({ kind: 'manifest'; bucket: string; key: string } & JobOptions);

export interface CopyJobRequestOptions {
  maxRefs?: number;
  /** The archive bucket: the only one a manifest may be read from. */
  bucket: string;
  /** Manifests must sit under this prefix (the function may read nothing else; default `manifests/`). */
  manifestsPrefix?: string;
  /** The bucket's lanes: targetKeys and keyTemplates are held to them (400 naming the item and the rule). */
  lanes?: Lanes;
}

const ON_CONFLICT: readonly OnConflict[] = ['fail', 'overwrite'];

function checkOnConflict(value: unknown): { onConflict?: 'overwrite' } {
  if (value === undefined || value === null || value === 'fail') return {};
  if (value === 'overwrite') return { onConflict: 'overwrite' };
  throw new ValidationError(
    `"onConflict" must be ${ON_CONFLICT.map((v) => `"${v}"`).join(' or ')} (got ${JSON.stringify(value)})`,
  );
}

function checkKeyTemplate(value: unknown, lanes: Lanes | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError('"keyTemplate" must be a non-empty string');
  }
  if (value.length > MAX_TEMPLATE_CHARS) {
    throw new ValidationError(`"keyTemplate" is longer than ${MAX_TEMPLATE_CHARS} characters`);
  }
  try {
    // A sample ref shows unknown placeholders and templates that can never make a valid key.
    objectKeyFor({ id: '1', key: 'k', fileName: 'f.pdf' }, undefined, value, 'job');
  } catch (err) {
    if (err instanceof AppError) throw new ValidationError(`"keyTemplate": ${err.message}`);
    throw err;
  }
  const problem = lanes && keyTemplateProblem(value, lanes);
  if (problem) throw new ValidationError(`"keyTemplate": ${problem.message}`);
  return value;
}

/** `s3://bucket/key` → its parts; the key is taken literally (S3 URIs are not URL-encoded). */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) return undefined;
  return { bucket: match[1] as string, key: match[2] as string };
}

export function parseCopyJobRequest(text: string, options: CopyJobRequestOptions): CopyJobRequest {
  if (text.trim() === '')
    throw new ValidationError('body is empty; send {"refs": [...]} or {"manifest": "s3://…"}');
  const o = jsonObject(parseJsonBody(text), '{"refs": [...]} or {"manifest": "s3://…"}');
  const keyTemplate = checkKeyTemplate(o.keyTemplate, options.lanes);
  const withTemplate = {
    ...(keyTemplate === undefined ? {} : { keyTemplate }),
    ...checkOnConflict(o.onConflict),
  };
  const hasRefs = o.refs !== undefined;
  const hasManifest = o.manifest !== undefined;
  if (hasRefs === hasManifest) {
    throw new ValidationError('send exactly one of "refs" (an array of {id, key}) and "manifest" (s3://…)');
  }

  if (hasManifest) {
    if (typeof o.manifest !== 'string')
      throw new ValidationError('"manifest" must be an s3://bucket/key string');
    const parsed = parseS3Uri(o.manifest);
    if (!parsed) throw new ValidationError('"manifest" must look like s3://bucket/manifests/name.csv');
    if (parsed.bucket !== options.bucket) {
      throw new ValidationError(`"manifest" must be in the archive bucket (s3://${options.bucket}/)`);
    }
    const prefix = options.manifestsPrefix ?? 'manifests/';
    if (!parsed.key.startsWith(prefix) || parsed.key.endsWith('/')) {
      throw new ValidationError(`"manifest" must be an object under s3://${options.bucket}/${prefix}`);
    }
    return { kind: 'manifest', ...parsed, ...withTemplate };
  }

  if (!Array.isArray(o.refs)) throw new ValidationError('"refs" must be an array of {id, key} objects');
  const maxRefs = options.maxRefs ?? DEFAULT_MAX_JOB_REFS;
  if (o.refs.length > maxRefs) {
    throw new TooLargeError(
      `"refs" has ${o.refs.length} items; at most ${maxRefs} per request (put larger jobs in a manifest)`,
    );
  }
  if (o.refs.length === 0) throw new ValidationError('"refs" is empty');
  const refs: CopyRef[] = [];
  const problems: string[] = [];
  let bad = 0;
  o.refs.forEach((raw, index) => {
    const item = manifestItemFrom(raw, index + 1);
    const lane =
      'ok' in item && item.ok.targetKey !== undefined && options.lanes
        ? laneProblem(item.ok.targetKey, options.lanes)
        : undefined;
    if ('ok' in item && !lane) {
      refs.push(item.ok);
      return;
    }
    bad += 1;
    const message = 'bad' in item ? item.bad.message : `"targetKey" ${lane?.message} [${lane?.code}]`;
    if (problems.length < MAX_NAMED_PROBLEMS) problems.push(`refs[${index}]: ${message}`);
  });
  if (bad > 0) {
    const more = bad > problems.length ? ` (and ${bad - problems.length} more bad refs)` : '';
    throw new ValidationError(`${problems.join('; ')}${more}`);
  }
  return { kind: 'refs', refs, ...withTemplate };
}
