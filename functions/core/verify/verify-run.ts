/**
 * Verify runs in AWS: `POST /verify-jobs` records what to check (`verify/<runId>/request.json`) and queues part 1;
 * the verify function checks one part — whole chunks (a job batch, a listing page, 100 keys) until the part holds
 * PART_MAX_OBJECTS or the deadline nears — writes what it found (`verify/<runId>/parts/<n>.json` totals, `.jsonl`
 * the findings that are not ok) and queues the next part from where it stopped. A chunk cut off by the deadline is
 * dropped and done again by the next part, so every object is counted once. `GET /verify-jobs/{runId}` adds the
 * parts up.
 *
 * Reports live in the system lane `verify/` (not under `jobs/<jobId>/`): a run may cover a prefix or a key list as
 * well as a job, and one lane lets IAM give the verify function write access to exactly that.
 */
import { AppError, ErrorCode, TooLargeError, ValidationError } from '../errors.js';
import { assertValidJobId, isValidJobId } from '../jobs/keys.js';
import type { FileRecord } from '../model/copy-result.js';
import {
  addTotals,
  differs,
  type ExpectedObject,
  type Finding,
  newVerifyTotals,
  type VerifyMessage,
  type VerifyPartSummary,
  type VerifyRequestRecord,
  type VerifyScope,
  type VerifyStatus,
} from '../model/verify.js';
import type { ArchiveReader, Logger, ReportStore, TextStore, WorkQueue } from '../ports.js';
import { jsonObject, parseJsonBody } from '../util/json-body.js';
import { jobBatchItems, jobRecordOf, parseKeyLine, systemPrefixes } from './sources.js';
import { verifyItems } from './verify-items.js';

export const VERIFY_PREFIX = 'verify/';
/** Objects one part checks at most: its findings object and its run time stay small. */
export const PART_MAX_OBJECTS = 5_000;
/** Keys one request may name (larger lists: a prefix, or the CLI with --keys). */
export const MAX_VERIFY_KEYS = 10_000;
const KEYS_CHUNK = 100;
/** A status answer lists this many findings; the totals count them all. */
export const MAX_LISTED_FINDINGS = 1_000;

export const verifyRunPrefix = (runId: string): string => `${VERIFY_PREFIX}${runId}/`;
export const verifyRequestKey = (runId: string): string => `${verifyRunPrefix(runId)}request.json`;
const partName = (part: number): string => String(part).padStart(5, '0');
export const verifyPartKey = (runId: string, part: number): string =>
  `${verifyRunPrefix(runId)}parts/${partName(part)}.json`;
export const verifyFindingsKey = (runId: string, part: number): string =>
  `${verifyRunPrefix(runId)}parts/${partName(part)}.jsonl`;

export interface VerifyRequest {
  scope: VerifyScope;
  deep: boolean;
  keys?: Array<string | FileRecord>;
}

/** The body of POST /verify-jobs: `{"jobId"} | {"prefix"} | {"keys": [...]}`, optional `"deep": true`. */
export function parseVerifyRequest(text: string, options: { reportPrefix?: string } = {}): VerifyRequest {
  const o = jsonObject(parseJsonBody(text), '{"jobId"}, {"prefix"} or {"keys": [...]}');
  const given = (['jobId', 'prefix', 'keys'] as const).filter((k) => o[k] !== undefined);
  if (given.length !== 1) throw new ValidationError('send exactly one of "jobId", "prefix" and "keys"');
  if (o.deep !== undefined && typeof o.deep !== 'boolean')
    throw new ValidationError('"deep" must be true or false');
  const deep = o.deep === true;
  if (o.jobId !== undefined) {
    if (typeof o.jobId !== 'string') throw new ValidationError('"jobId" must be a string');
    assertValidJobId(o.jobId);
    return { scope: { kind: 'job', jobId: o.jobId }, deep };
  }
  if (o.prefix !== undefined) {
    if (typeof o.prefix !== 'string' || o.prefix.length > 1024) {
      throw new ValidationError('"prefix" must be a string of at most 1024 characters');
    }
    const prefix = o.prefix;
    const lane = systemPrefixes(options.reportPrefix).find((s) => prefix.startsWith(s));
    if (lane)
      throw new ValidationError(`"prefix" lies in the system lane ${lane}, which holds no archived files`);
    return { scope: { kind: 'prefix', prefix }, deep };
  }
  return { scope: { kind: 'keys' }, deep, keys: checkKeys(o.keys) };
}

function checkKeys(keys: unknown): Array<string | FileRecord> {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ValidationError('"keys" must be a non-empty array of object keys or index lines');
  }
  if (keys.length > MAX_VERIFY_KEYS) {
    throw new TooLargeError(
      `"keys" has ${keys.length} items; at most ${MAX_VERIFY_KEYS} (use a prefix or the CLI)`,
    );
  }
  return keys.map((k, i) => {
    const parsed = parseKeyLine(typeof k === 'string' ? k : JSON.stringify(k ?? null), i + 1);
    if ('item' in parsed) return parsed.item.record ?? parsed.item.objectKey;
    const why = 'bad' in parsed ? parsed.bad.message : 'must be an object key or an index line';
    throw new ValidationError(`keys[${i}]: ${why}`);
  });
}

export interface VerifyRunDeps {
  reader: ArchiveReader;
  reports: ReportStore;
  texts: TextStore;
  queue: WorkQueue<VerifyMessage>;
  reportPrefix?: string;
  logger: Logger;
  now?: () => Date;
  concurrency?: number;
  /** Objects one part checks at most (default PART_MAX_OBJECTS). */
  partMaxObjects?: number;
}

/** Records the run and queues its first part. A job that does not exist is a 404 before anything is written. */
export async function startVerifyRun(
  request: VerifyRequest,
  runId: string,
  deps: Pick<VerifyRunDeps, 'reports' | 'queue' | 'reportPrefix' | 'now'>,
): Promise<VerifyRequestRecord> {
  if (!isValidJobId(runId)) throw new ValidationError('bad run id');
  if (request.scope.kind === 'job') await jobRecordOf(request.scope.jobId, deps);
  const record: VerifyRequestRecord = {
    v: 1,
    runId,
    scope: request.scope,
    deep: request.deep,
    createdAt: (deps.now?.() ?? new Date()).toISOString(),
    ...(request.keys ? { keys: request.keys } : {}),
  };
  await deps.reports.putJson(verifyRequestKey(runId), record);
  await deps.queue.send({ v: 1, runId, part: 1 });
  return record;
}

/** A piece of work that is checked whole or not at all, and where the run stands after it. */
interface Chunk {
  items: ExpectedObject[];
  /** The cursor after this chunk. */
  after: string;
}

/** The run's chunks from `cursor` on: a job's batches, a prefix's listing pages, the keys 100 at a time. */
async function* chunksOf(
  request: VerifyRequestRecord,
  cursor: string | undefined,
  deps: VerifyRunDeps,
  signal?: AbortSignal,
): AsyncGenerator<Chunk> {
  const { scope } = request;
  if (scope.kind === 'job') {
    const jobDeps = {
      reports: deps.reports,
      index: deps.texts,
      ...(deps.reportPrefix ? { reportPrefix: deps.reportPrefix } : {}),
    };
    const job = await jobRecordOf(scope.jobId, jobDeps);
    for (
      let position = cursor === undefined ? 0 : Number(cursor);
      position < job.batchIds.length;
      position++
    ) {
      const items = await jobBatchItems(job.jobId, job.batchIds[position] as string, jobDeps);
      yield { items, after: String(position + 1) };
    }
    return;
  }
  if (scope.kind === 'prefix') {
    const system = systemPrefixes(deps.reportPrefix);
    let after = cursor;
    for (;;) {
      const page = await deps.reader.list(scope.prefix, after, signal);
      if (page.objects.length === 0) return;
      after = page.objects.at(-1)?.key as string;
      const items = page.objects
        .filter((o) => !system.some((s) => o.key.startsWith(s)))
        .map((o) => ({ objectKey: o.key }));
      yield { items, after };
      if (!page.truncated) return;
    }
  }
  const keys = request.keys ?? [];
  for (let at = cursor === undefined ? 0 : Number(cursor); at < keys.length; at += KEYS_CHUNK) {
    const items = keys
      .slice(at, at + KEYS_CHUNK)
      .map(
        (k, i): ExpectedObject =>
          typeof k === 'string'
            ? { objectKey: k, line: at + i + 1 }
            : { objectKey: k.objectKey, record: k, line: at + i + 1 },
      );
    yield { items, after: String(at + KEYS_CHUNK) };
  }
}

/**
 * Checks one part of a run and queues the next. Resolves with the part's summary; rejects when its results could
 * not be written (the message is then retried; a part redone writes the same keys).
 */
export async function runVerifyPart(
  message: VerifyMessage,
  deps: VerifyRunDeps,
  signal?: AbortSignal,
): Promise<VerifyPartSummary> {
  const request = await deps.reports.getJson<VerifyRequestRecord>(verifyRequestKey(message.runId));
  if (!request) throw new AppError(ErrorCode.NotFound, `there is no verify run ${message.runId}`);
  const totals = newVerifyTotals();
  const findings: Finding[] = [];
  let position = message.cursor;
  let done = true;
  for await (const chunk of chunksOf(request, message.cursor, deps, signal)) {
    if (signal?.aborted || totals.checked >= (deps.partMaxObjects ?? PART_MAX_OBJECTS)) {
      done = false;
      break;
    }
    const found: Finding[] = [];
    let chunkTotals: typeof totals;
    try {
      chunkTotals = await verifyItems(chunk.items, deps.reader, {
        deep: request.deep,
        concurrency: deps.concurrency ?? 16,
        ...(signal ? { signal } : {}),
        onFinding: (f) => {
          if (f.status !== 'ok') found.push(f);
        },
      });
    } catch (err) {
      // Cut off by the deadline: this chunk is done again by the next part.
      if (!signal?.aborted) throw err;
      done = false;
      break;
    }
    if (signal?.aborted) {
      done = false;
      break;
    }
    addTotals(totals, chunkTotals);
    findings.push(...found);
    position = chunk.after;
  }
  const summary: VerifyPartSummary = {
    v: 1,
    runId: message.runId,
    part: message.part,
    ...(message.cursor === undefined ? {} : { cursor: message.cursor }),
    // Not done and no chunk finished (the deadline came first): the next part starts where this one did.
    ...(done || position === undefined ? {} : { next: position }),
    done,
    totals,
    finishedAt: (deps.now?.() ?? new Date()).toISOString(),
  };
  await deps.texts.putText(
    verifyFindingsKey(message.runId, message.part),
    findings.map((f) => `${JSON.stringify(f)}\n`).join(''),
    'application/x-ndjson; charset=utf-8',
  );
  await deps.reports.putJson(verifyPartKey(message.runId, message.part), summary);
  if (!summary.done) {
    await deps.queue.send({
      v: 1,
      runId: message.runId,
      part: message.part + 1,
      ...(position === undefined ? {} : { cursor: position }),
    });
  }
  deps.logger.info('verify part', {
    runId: message.runId,
    part: message.part,
    done: summary.done,
    ...totals,
  });
  return summary;
}

/** GET /verify-jobs/{runId}: undefined when there is no such run. */
export async function getVerifyStatus(
  runId: string,
  deps: Pick<VerifyRunDeps, 'reports' | 'texts'>,
): Promise<VerifyStatus | undefined> {
  assertValidJobId(runId);
  const request = await deps.reports.getJson<VerifyRequestRecord>(verifyRequestKey(runId));
  if (!request) return undefined;
  const keys = (await deps.reports.list(`${verifyRunPrefix(runId)}parts/`))
    .filter((k) => k.endsWith('.json'))
    .sort();
  const totals = newVerifyTotals();
  const findings: Finding[] = [];
  let finished = false;
  let parts = 0;
  for (const key of keys) {
    const part = await deps.reports.getJson<VerifyPartSummary>(key);
    if (!part) continue;
    parts += 1;
    addTotals(totals, part.totals);
    if (part.done) finished = true;
    if (findings.length < MAX_LISTED_FINDINGS && differs(part.totals)) {
      const text = (await deps.texts.getText(verifyFindingsKey(runId, part.part))) ?? '';
      for (const line of text.split('\n')) {
        if (line !== '' && findings.length < MAX_LISTED_FINDINGS) findings.push(JSON.parse(line) as Finding);
      }
    }
  }
  // Done when some part said so and every part before it reported (parts are numbered from 1).
  const complete = finished && parts === keys.length && keys.length > 0;
  return {
    runId,
    scope: request.scope,
    deep: request.deep,
    createdAt: request.createdAt,
    state: !complete ? 'running' : differs(totals) ? 'differs' : 'ok',
    parts,
    totals,
    findings,
  };
}
