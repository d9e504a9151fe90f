/**
 * `ekb-archive copy --manifest <file|-|s3://bucket/key>`: archive every ref of a manifest (JSON lines, CSV or a
 * JSON array: the same parsers as the functions), in-process: batches of ≤100 refs, each resolved right before
 * its files stream into the bucket. Bad manifest lines are reported with their line numbers; the good ones still
 * run. The job's record and batch reports go to the bucket as the functions write them, so `ekb-archive job <id>`
 * and GET /copy-jobs/{id} show CLI jobs too.
 *
 * The job's state is those reports, in the bucket: the same command with the same `--job-id` (from this machine
 * or another) resumes the job: refs settled by an earlier run are not run again, the rest are, and the exit code
 * says whether every ref is now done. One run per job id at a time on a machine (job-lock.ts).
 *
 * Before the first batch: the 合思 credentials and the bucket are checked (preflight.ts), so a run that cannot work
 * says so once, with exit 3.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Lanes } from '../../../../functions/core/attachments/lanes.js';
import { parseManifest } from '../../../../functions/core/attachments/manifest.js';
import { createJobOnce } from '../../../../functions/core/jobs/create-job.js';
import { isValidJobId, jobPrefix, jobRecordKey, newJobId } from '../../../../functions/core/jobs/keys.js';
import type { BadInput, JobRecord } from '../../../../functions/core/model/job.js';
import type { ReportStore } from '../../../../functions/core/ports.js';
import type { DataLock } from '../../data-lock.js';
import { EXIT, explainError, UsageError } from '../cli-errors.js';
import type { CommandSpec } from '../command.js';
import type { CliContext } from '../context.js';
import {
  checkKeyTemplate,
  cliLanes,
  createPipeline,
  type Pipeline,
  parseConcurrency,
} from '../copy-pipeline.js';
import { lockJob } from '../job-lock.js';
import { preflight } from '../preflight.js';

/** `s3://bucket/key` → its parts, or undefined for a local path. */
export function parseS3Url(text: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(text);
  if (!m) {
    if (text.startsWith('s3://')) throw new UsageError(`--manifest ${text}: expected s3://bucket/key`);
    return undefined;
  }
  return { bucket: m[1] as string, key: m[2] as string };
}

/** What a CLI run writes under its job's prefix: the bucket's write probe, then the run's outcome. */
export const CLI_RUN_RECORD = 'cli-run.json';

/** Reports bad lines (malformed, or a target refused with its rule) as they stream past, not at the end. */
function reportBadLine(ctx: CliContext): (bad: BadInput) => void {
  return (bad) =>
    ctx.reporter.event({
      type: 'bad_line',
      line: bad.line,
      message: bad.message,
      ...(bad.code === undefined ? {} : { code: bad.code }),
    });
}

interface CopyFlags {
  manifest: string;
  s3Source: { bucket: string; key: string } | undefined;
  dryRun: boolean;
  keyTemplate: string | undefined;
  concurrency: number;
  bucket: string | undefined;
  jobId: string;
  resumable: boolean;
  /** Replace an object of other identity at a target key (default: it fails target_occupied). */
  overwrite: boolean;
}

function readFlags(ctx: CliContext, values: Record<string, unknown>): CopyFlags {
  const manifest = values.manifest as string | undefined;
  if (!manifest) throw new UsageError('--manifest is required (a file, - for stdin, or s3://bucket/key)');
  const dryRun = values['dry-run'] === true;
  const keyTemplate = values['key-template'] as string | undefined;
  if (keyTemplate !== undefined) {
    checkKeyTemplate(keyTemplate);
    // Its lanes too (a root in a system lane is a usage error), before anything is asked of 合思 or the bucket.
    cliLanes(ctx, keyTemplate);
  }
  const bucket = (values.bucket as string | undefined) ?? ctx.config.bucket;
  if (!bucket && !dryRun) throw new UsageError('which bucket? pass --bucket or set EKB_BUCKET');
  const given = values['job-id'] as string | undefined;
  if (given !== undefined && !isValidJobId(given)) {
    throw new UsageError(
      `--job-id ${JSON.stringify(given)}: 1 to 128 letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
  return {
    manifest,
    s3Source: parseS3Url(manifest),
    dryRun,
    keyTemplate,
    concurrency: parseConcurrency(values.concurrency as string | undefined, ctx.config.copyConcurrency),
    bucket,
    jobId: given ?? newJobId(new Date()),
    resumable: given !== undefined,
    overwrite: values.overwrite === true,
  };
}

/** A local manifest that cannot be read is a usage error, said before anything else happens. */
async function checkLocalManifest(flags: CopyFlags): Promise<void> {
  if (flags.s3Source || flags.manifest === '-') return;
  const info = await stat(flags.manifest);
  if (info.isDirectory()) {
    throw Object.assign(new Error('is a directory'), { code: 'EISDIR', path: flags.manifest });
  }
}

function openManifest(ctx: CliContext, flags: CopyFlags): AsyncIterable<Uint8Array | string> {
  if (flags.s3Source) {
    const { bucket, key } = flags.s3Source;
    // The AWS SDK's own settings: region, credential chain, AWS_ENDPOINT_URL_S3, checksum settings.
    return (async function* () {
      // Loaded only for an s3:// manifest (and never for --help): the AWS SDK.
      const { manifestSource } = await import('../../../../functions/compose/storage.js');
      yield* (await manifestSource(ctx.composition()).open(bucket, key, ctx.signal)).body;
    })();
  }
  return flags.manifest === '-' ? ctx.io.stdin : createReadStream(flags.manifest);
}

/**
 * The job as the bucket holds it (undefined for a new one), after the checks: the bucket is written (the run's
 * record under the job's prefix) while 合思 is asked for a token.
 */
async function prepare(
  ctx: CliContext,
  flags: CopyFlags,
  store: ReportStore,
): Promise<JobRecord | undefined> {
  const runRecord = {
    v: 1,
    jobId: flags.jobId,
    command: 'copy',
    manifest: flags.manifest,
    startedAt: new Date().toISOString(),
  };
  await preflight(ctx, {
    ekuaibao: true,
    bucket: {
      kind: 'write',
      bucket: flags.bucket as string,
      store,
      key: `${jobPrefix(flags.jobId, ctx.config.reportPrefix)}${CLI_RUN_RECORD}`,
      value: runRecord,
    },
  });
  const existing = flags.resumable
    ? await store.getJson<JobRecord>(jobRecordKey(flags.jobId, ctx.config.reportPrefix))
    : undefined;
  if (existing && flags.keyTemplate !== undefined && flags.keyTemplate !== existing.keyTemplate) {
    throw new UsageError(
      `job ${flags.jobId} was started with --key-template ${JSON.stringify(existing.keyTemplate)}; resume it with that template (or leave --key-template out), or give another --job-id`,
    );
  }
  return existing;
}

export const copyCommand: CommandSpec = {
  name: 'copy',
  summary: 'archive the attachments a manifest lists into the bucket (in-process, with progress)',
  usage:
    'ekb-archive copy --manifest <file|-|s3://bucket/key> [--bucket NAME] [--job-id ID] [--concurrency N] [--key-template T] [--overwrite] [--dry-run] [--json] [--sandbox]',
  options: {
    manifest: {
      type: 'string',
      short: 'm',
      valueName: 'FILE',
      description:
        'the manifest: a file (JSON lines, CSV with a header, JSON array), - for stdin, or s3://bucket/key',
    },
    bucket: { type: 'string', valueName: 'NAME', description: 'the archive bucket (default: EKB_BUCKET)' },
    'job-id': {
      type: 'string',
      valueName: 'ID',
      description:
        "the job's id; the same command with the same id resumes the job (settled refs are not run again)",
    },
    concurrency: {
      type: 'string',
      valueName: 'N',
      description:
        'files downloading at once (their uploads overlap the next downloads), 1-256 (default: EKB_COPY_CONCURRENCY, 8)',
    },
    'key-template': {
      type: 'string',
      valueName: 'T',
      description: 'object key template (default: EKB_OBJECT_KEY_TEMPLATE, attachments/{fileId}/{fileName})',
    },
    overwrite: {
      type: 'boolean',
      description:
        'replace an object of another file at a target key (default: that ref fails target_occupied); a versioned bucket keeps the old version',
    },
    'dry-run': {
      type: 'boolean',
      description: 'print the object keys it would write and write nothing (works without credentials)',
    },
  },
  positionals: { min: 0, max: 0 },
  needsEkuaibao: (args) => args.values['dry-run'] !== true,
  async run(ctx, args) {
    const flags = readFlags(ctx, args.values);
    await checkLocalManifest(flags);
    let lock: DataLock | undefined;
    let existing: JobRecord | undefined;
    if (!flags.dryRun && flags.resumable) {
      lock = lockJob({
        bucket: flags.bucket as string,
        reportPrefix: ctx.config.reportPrefix,
        jobId: flags.jobId,
        ...(ctx.env.AWS_ENDPOINT_URL_S3 ? { endpoint: ctx.env.AWS_ENDPOINT_URL_S3 } : {}),
      });
    }
    try {
      // The job as the bucket holds it comes first: a resumed job keeps its template, and so its lanes.
      if (!flags.dryRun) {
        // Loaded when a copy runs (never for --help): the AWS SDK.
        const { reportStoreIn } = await import('../../../../functions/compose/storage.js');
        existing = await prepare(ctx, flags, reportStoreIn(ctx.composition(), flags.bucket as string));
      }
      const keyTemplate = flags.keyTemplate ?? existing?.keyTemplate ?? ctx.config.objectKeyTemplate;
      const lanes = cliLanes(ctx, keyTemplate);
      const pipeline = await createPipeline(ctx, {
        bucket: flags.bucket,
        concurrency: flags.concurrency,
        dryRun: flags.dryRun,
        resume: flags.resumable,
        lanes,
      });
      if (existing) {
        ctx.reporter.note(
          `resuming job ${flags.jobId} (${existing.counts.refs} refs in ${existing.counts.batches} batch(es), started ${existing.createdAt}): refs already done are not copied again`,
        );
      }
      // A resumed job keeps the overwrite it was started with: its batches must be the same as before.
      const overwrite = flags.overwrite || existing?.onConflict === 'overwrite';
      return await runJob(ctx, flags, pipeline, { keyTemplate, lanes, overwrite }, existing !== undefined);
    } finally {
      lock?.release();
    }
  },
};

async function runJob(
  ctx: CliContext,
  flags: CopyFlags,
  pipeline: Pipeline,
  { keyTemplate, lanes, overwrite }: { keyTemplate: string; lanes: Lanes; overwrite: boolean },
  resuming: boolean,
): Promise<number> {
  const { reporter } = ctx;
  reporter.setLabel(flags.dryRun ? 'planning' : resuming ? 'resuming' : 'copying');
  let fatal: unknown;
  try {
    const items = parseManifest(openManifest(ctx, flags), { name: flags.s3Source?.key ?? flags.manifest });
    await createJobOnce(
      {
        jobId: flags.jobId,
        source: { kind: 'cli', manifest: flags.manifest },
        items,
        keyTemplate,
        rejectInvalidManifest: true,
        resume: flags.resumable,
        onBadItem: reportBadLine(ctx),
        ...(overwrite ? { onConflict: 'overwrite' as const } : {}),
      },
      {
        queue: pipeline.runner,
        store: pipeline.store,
        logger: ctx.logger,
        reportPrefix: ctx.config.reportPrefix,
        signal: pipeline.signal,
        lanes,
      },
    );
  } catch (err) {
    if (!pipeline.signal.aborted) fatal = err;
  }
  await pipeline.runner.drain();
  const stopped = fatal ?? pipeline.stopped;
  const t = reporter.totals;
  const aborted = ctx.signal.aborted;
  const ok = !aborted && !stopped && t.failed === 0 && t.badLines === 0;
  const exitCode = aborted
    ? EXIT.interrupted
    : stopped
      ? explainError(stopped).exitCode
      : ok
        ? EXIT.ok
        : EXIT.itemsFailed;
  // A run that could not even start its manifest says only why (main.ts); one that ran part way sums up first.
  const ranSomething = t.refs > 0 || t.badLines > 0;
  if (!stopped || ranSomething) {
    reporter.finish({
      command: flags.dryRun ? 'copy --dry-run' : 'copy',
      ok,
      aborted,
      exitCode,
      jobId: flags.jobId,
      ...(flags.bucket ? { bucket: flags.bucket } : {}),
      dryRun: flags.dryRun,
      ...(resuming ? { resumed: true } : {}),
    });
  }
  if (!flags.dryRun) await recordOutcome(ctx, flags, pipeline.store, { ok, aborted, exitCode });
  if (!flags.dryRun && reporter.mode !== 'json' && (!stopped || ranSomething)) {
    ctx.io.stderr.write(
      `job ${flags.jobId}: reports in s3://${flags.bucket}/${ctx.config.reportPrefix}${flags.jobId}/\n`,
    );
    const unfinished = t.cancelled + Math.max(0, t.refs - t.copied - t.skipped - t.alreadyDone - t.failed);
    if (!ok && (unfinished > 0 || t.failed > 0)) {
      const again = `run the same command${flags.resumable ? '' : ` with --job-id ${flags.jobId}`}`;
      ctx.io.stderr.write(
        unfinished > 0
          ? `job ${flags.jobId}: ${unfinished} ref(s) not finished; ${again} to finish them\n`
          : `job ${flags.jobId}: ${again} to try the failed refs again (those a retry can help)\n`,
      );
    }
  }
  if (stopped) throw stopped;
  return exitCode;
}

/** The run's outcome next to its start in the job's cli-run.json (best effort: the batch reports are the record). */
async function recordOutcome(
  ctx: CliContext,
  flags: CopyFlags,
  store: ReportStore,
  outcome: { ok: boolean; aborted: boolean; exitCode: number },
): Promise<void> {
  const key = `${jobPrefix(flags.jobId, ctx.config.reportPrefix)}${CLI_RUN_RECORD}`;
  try {
    const started = await store.getJson<Record<string, unknown>>(key);
    if (!started) return;
    await store.putJson(key, {
      ...started,
      finishedAt: new Date().toISOString(),
      ...outcome,
      totals: ctx.reporter.totals,
    });
  } catch {
    // The run's result is in its batch reports already; this record only adds when and how it ended.
  }
}
