/**
 * The copy worker's side of form packages: one queue message holds one or more packages (their files and their
 * parts). In one attempt, for each package:
 * 1. a package whose version is archived whole (its index says complete) is skipped, every ref `skipped`, with no
 *    call to 合思 (a retried or repeated message costs one read);
 * 2. the form is fetched (flowDetails): gone → its form.json and PDF are missing, its files still land; changed
 *    since it was planned → nothing of this version is written (`form_changed`), the new version is the next
 *    run's;
 * 3. every file is copied by the copy engine (one call per endpoint for the whole message, fresh URLs again on
 *    403), then form.json and the print PDF (streamed) are written, and last the index — only once no file of the
 *    package waits for another try (else `package_pending`, retried with the message), or on the last attempt.
 * A retried message writes the index again from the new results: archived files come back `skipped`.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { contentDisposition } from '../attachments/content-type.js';
import { copyBatch } from '../copy/copy-batch.js';
import { failed, fromError, stoppedResult } from '../copy/copy-failure.js';
import type { PackageBatchRunner, RunBatchDeps } from '../copy/run-batch.js';
import { AppError, ErrorCode } from '../errors.js';
import { SHA256_METADATA } from '../integrity/file-record.js';
import { batchReportKey } from '../jobs/keys.js';
import type { BatchMessage, BatchReport } from '../model/batch.js';
import type { CopyResult } from '../model/copy-result.js';
import type { EkuaibaoForm } from '../model/forms.js';
import type { PackageIndex, PackageInfo, PackagePart, PartRecord } from '../model/package.js';
import { refSourceIdentity } from '../model/ref-identity.js';
import type { CopyRef, DownloadRef, PackagePartRef } from '../model/refs.js';
import type { FormPackageSource } from '../ports.js';
import { indexKey } from './layout.js';
import { buildIndex, type FileOutcome, type PartOutcome, type StoredFacts } from './package-index.js';

/** Packages assembled at once per message (each: one flowDetails call, one PDF, two small PUTs). */
const DEFAULT_ASSEMBLY_CONCURRENCY = 4;

export interface PackageRunnerOptions {
  source: Pick<FormPackageSource, 'getFlowDetails' | 'getFlowsPdf'>;
  concurrency?: number;
}

type Run = Parameters<PackageBatchRunner>[1];

/** One package of the message and how far it got. */
interface Work {
  info: PackageInfo;
  /** Positions in message.refs. */
  files: number[];
  parts: Map<PackagePart, number>;
  /** The last (or only) part of the package: it writes form.json, the PDF and the index. */
  assembles: boolean;
  state: 'skip' | 'go' | 'gone' | 'changed' | 'unknown';
  form?: EkuaibaoForm;
  why?: AppError;
}

export function createPackageRunner(options: PackageRunnerOptions): PackageBatchRunner {
  return (message, run, deps) => runPackages(message, run, deps, options);
}

async function runPackages(
  message: BatchMessage,
  run: Run,
  deps: RunBatchDeps,
  options: PackageRunnerOptions,
): Promise<CopyResult[]> {
  const signal = run.signal ?? new AbortController().signal;
  const results: Array<CopyResult | undefined> = new Array(message.refs.length);
  const works = groupRefs(message, results);
  const limit = pLimit(options.concurrency ?? DEFAULT_ASSEMBLY_CONCURRENCY);
  await limit.map(works, (w) => prepare(w, message, results, deps, options, signal));

  const copying = works.filter((w) => w.state !== 'skip' && w.state !== 'changed').flatMap((w) => w.files);
  if (copying.length > 0) {
    const copied = await copyBatch(
      copying.map((i) => message.refs[i] as DownloadRef),
      { jobId: message.jobId, concurrency: deps.concurrency, signal, stats: run.stats },
      deps,
    );
    copying.forEach((i, j) => {
      results[i] = copied[j];
    });
  }
  const assembling = works.filter((w) => w.assembles && w.state !== 'skip' && w.state !== 'changed');
  await limit.map(assembling, (w) => assemble(w, message, results, run, deps, options, signal));
  return results.map((r, i) => r ?? stoppedResult(message.refs[i] as CopyRef, signal.reason));
}

/** Packages by form id; a ref no package of the message claims fails alone. */
function groupRefs(message: BatchMessage, results: Array<CopyResult | undefined>): Work[] {
  const works = new Map<string, Work>();
  for (const info of message.packages ?? []) {
    const assembles = info.part === undefined || info.part.index === info.part.of;
    works.set(info.flowId, { info, files: [], parts: new Map(), assembles, state: 'go' });
  }
  message.refs.forEach((ref, i) => {
    const flowId = ref.kind === 'package' ? ref.id : ref.pkg?.flowId;
    const work = flowId === undefined ? undefined : works.get(flowId);
    if (!work || !ref.targetKey) {
      results[i] = failed(ref, ErrorCode.InvalidRef, 'ref belongs to no package of this message', false);
    } else if (ref.kind === 'package') {
      if (work.assembles) work.parts.set(ref.key, i);
      else results[i] = failed(ref, ErrorCode.InvalidRef, 'only the last part writes package parts', false);
    } else work.files.push(i);
  });
  return [...works.values()];
}

/** Decides what to do with one package: skip it, or which form it is archived from. */
async function prepare(
  w: Work,
  message: BatchMessage,
  results: Array<CopyResult | undefined>,
  deps: RunBatchDeps,
  options: PackageRunnerOptions,
  signal: AbortSignal,
): Promise<void> {
  const refsOf = (): number[] => [...w.files, ...w.parts.values()];
  try {
    const existing = await readIndex(w.info, deps);
    if (existing?.complete === true) {
      w.state = 'skip';
      for (const i of refsOf()) {
        const ref = message.refs[i] as CopyRef;
        results[i] = {
          status: 'skipped',
          id: ref.id,
          key: ref.key,
          objectKey: ref.targetKey as string,
          reason: 'exists',
        };
      }
      return;
    }
    if (!w.assembles) return;
    const form = await options.source.getFlowDetails({ flowId: w.info.flowId }, signal);
    if (form === undefined) {
      w.state = 'gone';
    } else if (form.updateTime !== w.info.updateTime) {
      w.state = 'changed';
      const why = `the form changed after its package was planned (version ${w.info.version}, updateTime now ${String(form.updateTime)}); the new version is archived by the next run`;
      for (const i of refsOf())
        results[i] = failed(message.refs[i] as CopyRef, ErrorCode.FormChanged, why, false);
    } else {
      w.form = form;
    }
  } catch (err) {
    if (signal.aborted) return;
    w.state = 'unknown';
    w.why =
      err instanceof AppError ? err : new AppError(ErrorCode.Internal, String(err), { retryable: true });
  }
}

/**
 * The version's index if there is one. An object there that is not an index (not JSON) does not stop the
 * package: it is archived again and the index written over it; a failed read is retried with the message.
 */
async function readIndex(info: PackageInfo, deps: RunBatchDeps): Promise<PackageIndex | undefined> {
  try {
    return await deps.reports.getJson<PackageIndex>(indexKey(info.root, info.version));
  } catch (err) {
    if (err instanceof AppError && !err.retryable) {
      deps.logger.warn('package index unreadable; the package is archived again', {
        flowId: info.flowId,
        version: info.version,
        code: err.code,
      });
      return undefined;
    }
    throw err;
  }
}

async function assemble(
  w: Work,
  message: BatchMessage,
  results: Array<CopyResult | undefined>,
  run: Run,
  deps: RunBatchDeps,
  options: PackageRunnerOptions,
  signal: AbortSignal,
): Promise<void> {
  const partRef = (part: PackagePart): { i: number; ref: PackagePartRef } | undefined => {
    const i = w.parts.get(part);
    return i === undefined ? undefined : { i, ref: message.refs[i] as PackagePartRef };
  };
  const formJson = partRef('form.json');
  const printPdf = partRef('print.pdf');
  const index = partRef('package.json');
  if (signal.aborted) return;
  const formOutcome = formJson ? await writeFormJson(w, formJson.ref, deps, signal) : undefined;
  if (formJson && formOutcome) results[formJson.i] = formOutcome.result;
  const printOutcome = printPdf ? await writePrint(w, printPdf.ref, deps, options, signal) : undefined;
  if (printPdf && printOutcome) results[printPdf.i] = printOutcome.result;
  if (!index) return;

  const files = await fileOutcomes(w, message, results, deps);
  const pending = packagePending(
    files.outcomes,
    [formOutcome?.result, printOutcome?.result],
    files.unsettled,
  );
  const lastTry = run.attempt >= run.maxReceiveCount;
  if (signal.aborted) return;
  if (pending !== undefined && !lastTry) {
    results[index.i] = failed(index.ref, ErrorCode.PackagePending, pending, true, index.ref.targetKey);
    return;
  }
  const built = buildIndex({
    info: w.info,
    form: w.form,
    files: files.outcomes,
    formJson: formOutcome?.part ?? { failed: { code: ErrorCode.InvalidRef, message: 'no form.json ref' } },
    printPdf: printOutcome?.part ?? { failed: { code: ErrorCode.InvalidRef, message: 'no print.pdf ref' } },
    jobId: message.jobId,
    now: new Date((deps.now ?? Date.now)()),
  });
  if (files.unsettled.length > 0) {
    built.missing.push(...files.unsettled);
    built.complete = false;
  }
  try {
    const written = await putBuffer(
      index.ref,
      w.info,
      Buffer.from(`${JSON.stringify(built, null, 2)}\n`),
      deps,
      signal,
    );
    results[index.i] = copiedResult(index.ref, written, deps);
  } catch (err) {
    results[index.i] = signal.aborted
      ? stoppedResult(index.ref, signal.reason, index.ref.targetKey)
      : fromError(index.ref, err, index.ref.targetKey);
  }
}

/** Why the index must wait (a file or part will be tried again, or an earlier part has not settled), if it must. */
function packagePending(
  outcomes: FileOutcome[],
  parts: Array<CopyResult | undefined>,
  unsettled: unknown[],
): string | undefined {
  const retrying = [...outcomes.map((o) => o.result), ...parts].filter(
    (r) => r?.status === 'failed' && r.retryable,
  ).length;
  if (retrying > 0) return `waiting for ${retrying} file(s) or part(s) that will be tried again`;
  if (unsettled.length > 0) return `waiting for ${unsettled.length} earlier part(s) of this package`;
  return undefined;
}

/**
 * A package part this run wrote, with its proof record (FileRecord, as the copy engine gives its files): the part
 * was made here, not downloaded, so there is no source checksum to check it against (`verified: false`).
 */
const copiedResult = (ref: CopyRef, written: PartRecord, deps: RunBatchDeps): CopyResult => ({
  status: 'copied',
  id: ref.id,
  key: ref.key,
  objectKey: written.objectKey,
  bytes: written.size,
  ms: 0,
  record: {
    objectKey: written.objectKey,
    size: written.size,
    sha256: written.sha256,
    source: { verified: false },
    ekbKey: ref.key,
    at: new Date((deps.now ?? Date.now)()).toISOString(),
  },
});
/** The package's files with what is known of each stored one; earlier parts' from their batch reports. */
async function fileOutcomes(
  w: Work,
  message: BatchMessage,
  results: Array<CopyResult | undefined>,
  deps: RunBatchDeps,
): Promise<{ outcomes: FileOutcome[]; unsettled: Array<{ code: string; reason: string }> }> {
  const outcomes: FileOutcome[] = [];
  const unsettled: Array<{ code: string; reason: string }> = [];
  for (const batchId of w.info.part?.batchIds ?? []) {
    if (batchId === message.batchId) continue;
    const report = await deps.reports.getJson<BatchReport>(
      batchReportKey(message.jobId, batchId, deps.reportPrefix),
    );
    if (!report?.final) {
      unsettled.push({
        code: ErrorCode.PackagePending,
        reason: `part ${batchId} of this package had not finished when the index was written`,
      });
      continue;
    }
    for (const result of report.results) outcomes.push({ result });
  }
  for (const i of w.files) {
    outcomes.push({ ref: message.refs[i] as DownloadRef, result: results[i] as CopyResult });
  }
  await pLimit(8).map(outcomes, async (o) => {
    o.facts = await factsOf(o.result, deps);
  });
  return { outcomes, unsettled };
}

/**
 * Size and SHA-256 of a stored file: the copy's proof record (`record` on copied and skipped results). A skipped
 * file archived before SHA-256s were kept has no record: its size comes from a HEAD and its SHA-256 is left out of
 * the index (never computed a second time here).
 */
async function factsOf(result: CopyResult, deps: RunBatchDeps): Promise<StoredFacts | undefined> {
  const record = (result as { record?: StoredFacts }).record;
  if (record) return { ...record };
  if (result.status !== 'skipped') return undefined;
  const head = await deps.sink.head(result.objectKey).catch(() => undefined);
  return head ? { size: head.size } : undefined;
}

async function writeFormJson(
  w: Work,
  ref: PackagePartRef,
  deps: RunBatchDeps,
  signal: AbortSignal,
): Promise<{ result: CopyResult; part: PartOutcome }> {
  if (w.state === 'gone' || w.state === 'unknown' || !w.form) {
    const err = w.state === 'unknown' ? w.why : undefined;
    const result = err
      ? fromError(ref, err, ref.targetKey)
      : failed(
          ref,
          ErrorCode.FormNotFound,
          '合思 no longer has this form (flowDetails answered 412)',
          false,
          ref.targetKey,
        );
    return {
      result,
      part: {
        failed: { code: (result as { code: string }).code, message: (result as { message: string }).message },
      },
    };
  }
  // The form's JSON and approval log exactly as flowDetails answered (one object: value), pretty-printed.
  const body = Buffer.from(`${JSON.stringify(w.form, null, 2)}\n`);
  try {
    const written = await putBuffer(ref, w.info, body, deps, signal);
    return { result: copiedResult(ref, written, deps), part: { ok: written } };
  } catch (err) {
    const result = signal.aborted
      ? stoppedResult(ref, signal.reason, ref.targetKey)
      : fromError(ref, err, ref.targetKey);
    return {
      result,
      part: { failed: { code: ErrorCode.UploadFailed, message: (result as { message: string }).message } },
    };
  }
}

async function writePrint(
  w: Work,
  ref: PackagePartRef,
  deps: RunBatchDeps,
  options: PackageRunnerOptions,
  signal: AbortSignal,
): Promise<{ result: CopyResult; part: PartOutcome }> {
  const fail = (code: ErrorCode, message: string, retryable: boolean) => {
    const result = failed(ref, code, message, retryable, ref.targetKey);
    return {
      result,
      part: { failed: { code, message: result.status === 'failed' ? result.message : message } },
    };
  };
  if (w.state === 'gone')
    return fail(ErrorCode.FormNotFound, '合思 no longer has this form: nothing to print', false);
  try {
    const answer = await options.source.getFlowsPdf([w.info.flowId], signal);
    if (answer.kind === 'refused') {
      return answer.tooLarge
        ? fail(
            ErrorCode.PrintTooLarge,
            `${answer.message} (getFlowsPdf prints at most 32 MB with attachments)`,
            false,
          )
        : fail(ErrorCode.PrintRefused, answer.message, false);
    }
    const written = await putStream(ref, w.info, answer.body, answer.contentLength, deps, signal);
    return { result: copiedResult(ref, written, deps), part: { ok: written } };
  } catch (err) {
    const result = signal.aborted
      ? stoppedResult(ref, signal.reason, ref.targetKey)
      : fromError(ref, err, ref.targetKey);
    const code = result.status === 'failed' ? result.code : ErrorCode.UploadFailed;
    return { result, part: { failed: { code, message: result.status === 'failed' ? result.message : '' } } };
  }
}

function partMetadata(ref: PackagePartRef, info: PackageInfo): Record<string, string> {
  return { 'ekb-source': encodeURIComponent(refSourceIdentity(ref, info.version)) };
}

const CONTENT_TYPES: Record<PackagePart, string> = {
  'form.json': 'application/json; charset=utf-8',
  'print.pdf': 'application/pdf',
  'package.json': 'application/json; charset=utf-8',
};

async function putBuffer(
  ref: PackagePartRef,
  info: PackageInfo,
  body: Buffer,
  deps: RunBatchDeps,
  signal: AbortSignal,
): Promise<PartRecord> {
  const sha256 = createHash('sha256').update(body).digest('hex');
  await deps.sink.put(ref.targetKey as string, Readable.from([body]), {
    contentLength: body.length,
    contentType: CONTENT_TYPES[ref.key],
    contentDisposition: contentDisposition(ref.key),
    // Known before the upload (the body is in memory): verify compares the object with it, as for any file.
    metadata: { ...partMetadata(ref, info), [SHA256_METADATA]: sha256 },
    signal,
  });
  return { objectKey: ref.targetKey as string, size: body.length, sha256 };
}

/** The PDF streamed into the bucket with its SHA-256 taken on the way (never held whole: it may be 32 MB). */
async function putStream(
  ref: PackagePartRef,
  info: PackageInfo,
  body: Readable,
  contentLength: number | undefined,
  deps: RunBatchDeps,
  signal: AbortSignal,
): Promise<PartRecord> {
  const hash = createHash('sha256');
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const piping = pipeline(body, hashing).catch((err: unknown) => {
    hashing.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  try {
    await deps.sink.put(ref.targetKey as string, hashing, {
      ...(contentLength === undefined ? {} : { contentLength }),
      contentType: CONTENT_TYPES[ref.key],
      contentDisposition: contentDisposition(`${info.code}.pdf`),
      metadata: partMetadata(ref, info),
      signal,
    });
  } catch (err) {
    // Nothing reads the PDF any more: end the download rather than leave it stalled on backpressure.
    body.destroy();
    throw err;
  }
  await piping;
  if (contentLength !== undefined && size !== contentLength) {
    throw new AppError(ErrorCode.Integrity, `print PDF: got ${size} of ${contentLength} bytes`, {
      retryable: true,
    });
  }
  return { objectKey: ref.targetKey as string, size, sha256: hash.digest('hex') };
}
