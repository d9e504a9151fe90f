/**
 * `ekb-archive archive-forms --code … | --id … | --since … [--until …]`: the forms archived as form packages
 * (every file, invoice files, form.json, print PDF and the index; README "Form packages"), in-process with the
 * progress bar: the same request check as POST /form-archives, the same planning as fan-out, the same package
 * runner as the copy function. Forms in states not to archive are listed as held; unknown codes are bad lines.
 */
import { ValidationError } from '../../../../functions/core/errors.js';
import { newJobId } from '../../../../functions/core/jobs/keys.js';
import type { JobRecord } from '../../../../functions/core/model/job.js';
import { runFormArchiveJob } from '../../../../functions/core/packages/form-archive-job.js';
import {
  type FormArchiveRequest,
  parseFormArchiveRequest,
} from '../../../../functions/core/packages/form-request.js';
import { EXIT, UsageError } from '../cli-errors.js';
import type { CommandSpec, ParsedArgs } from '../command.js';
import type { CliContext } from '../context.js';
import { cliLanes, createPipeline, parseConcurrency } from '../copy-pipeline.js';
import { preflight } from '../preflight.js';

const list = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.flatMap((s) => String(s).split(',')).map((s) => s.trim()) : undefined;

/** The flags as a POST /form-archives body, checked by the same rules (a usage error names the flag). */
function requestOf(args: ParsedArgs): FormArchiveRequest {
  const body: Record<string, unknown> = {};
  const codes = list(args.values.code);
  const ids = list(args.values.id);
  if (codes) body.codes = codes;
  if (ids) body.ids = ids;
  if (args.values.since !== undefined) body.since = args.values.since;
  if (args.values.until !== undefined) body.until = args.values.until;
  const types = args.values['form-types'];
  if (typeof types === 'string') body.formTypes = types.split(',').map((t) => t.trim());
  try {
    return parseFormArchiveRequest(body);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const flags = err.message
      .replace(/"?\bcodes\b"?/g, '--code')
      .replace(/"?\bids\b"?/g, '--id')
      .replace(/"?\bsince\b"?/g, '--since')
      .replace(/"?\buntil\b"?/g, '--until')
      .replace(/"?\bformTypes\b"?/g, '--form-types');
    throw new UsageError(flags);
  }
}

function describe(ctx: CliContext, jobId: string, bucket: string, record: JobRecord | undefined): void {
  if (ctx.reporter.mode === 'json') return;
  const p = record?.packages;
  const lines = [
    `archive-forms: ${p?.queued ?? 0} package(s) queued, ${p?.unchanged ?? 0} unchanged (archived already), ${p?.held ?? 0} held`,
  ];
  for (const h of p?.heldForms ?? []) lines.push(`  held     ${h.code} (${h.flowId}): ${h.reason}`);
  lines.push(`  packages under s3://${bucket}/forms/<formType>/<flowCode>/<version>/package.json`);
  lines.push(`job ${jobId}: reports in s3://${bucket}/${ctx.config.reportPrefix}${jobId}/`);
  ctx.io.stderr.write(`${lines.join('\n')}\n`);
}

export const archiveFormsCommand: CommandSpec = {
  name: 'archive-forms',
  summary: 'archive forms whole as form packages: by --code, --id, or every form updated --since a date',
  usage:
    'ekb-archive archive-forms (--code CODE… | --id ID… | --since <yyyy-MM-dd[ HH:mm:ss]> [--until …] [--form-types expense,…]) [--bucket NAME] [--concurrency N] [--json] [--sandbox]',
  options: {
    code: {
      type: 'string',
      multiple: true,
      valueName: 'CODE',
      description: 'a form code (单据编号); repeat it or separate codes with commas',
    },
    id: {
      type: 'string',
      multiple: true,
      valueName: 'ID',
      description: 'a form id (flowId); repeat it or separate ids with commas',
    },
    since: {
      type: 'string',
      valueName: 'DATE',
      description: 'every form updated since then (China time): yyyy-MM-dd or "yyyy-MM-dd HH:mm:ss"',
    },
    until: { type: 'string', valueName: 'DATE', description: 'with --since: forms updated until then' },
    'form-types': {
      type: 'string',
      valueName: 'LIST',
      description: 'with --since: form types to list, comma-separated (default: all seven)',
    },
    bucket: { type: 'string', valueName: 'NAME', description: 'the archive bucket (default: EKB_BUCKET)' },
    concurrency: {
      type: 'string',
      valueName: 'N',
      description:
        'files downloading at once (their uploads overlap the next downloads), 1-256 (default: EKB_COPY_CONCURRENCY, 8)',
    },
  },
  positionals: { min: 0, max: 0 },
  needsEkuaibao: true,
  async run(ctx, args) {
    const request = requestOf(args);
    const concurrency = parseConcurrency(
      args.values.concurrency as string | undefined,
      ctx.config.copyConcurrency,
    );
    const bucket = (args.values.bucket as string | undefined) ?? ctx.config.bucket;
    if (!bucket) throw new UsageError('which bucket? pass --bucket or set EKB_BUCKET');
    const jobId = newJobId(new Date());
    const lanes = cliLanes(ctx, ctx.config.objectKeyTemplate);
    const pipeline = await createPipeline(ctx, { bucket, concurrency, dryRun: false, lanes });
    // The job's id is known, but its record is the planner's to write: the bucket is asked for here.
    await preflight(ctx, { ekuaibao: true, bucket: { kind: 'head', bucket } });
    const client = await ctx.ekuaibao();
    ctx.reporter.setLabel('archiving');
    let record: JobRecord | undefined;
    let fatal: unknown;
    try {
      ({ record } = await runFormArchiveJob(
        { jobId, source: { kind: 'cli-form-archives' }, request },
        {
          queue: pipeline.runner,
          store: pipeline.store,
          source: client,
          states: ctx.config.packageStates,
          logger: ctx.logger,
          reportPrefix: ctx.config.reportPrefix,
          signal: pipeline.signal,
        },
      ));
    } catch (err) {
      fatal = err;
    }
    await pipeline.runner.drain();
    const aborted = ctx.signal.aborted;
    if (fatal && !aborted && !pipeline.stopped) throw fatal;
    if (pipeline.stopped) throw pipeline.stopped;
    for (const b of record?.badLines ?? [])
      ctx.reporter.event({ type: 'bad_line', line: b.line, message: b.message });
    const t = ctx.reporter.totals;
    const ok = !aborted && t.failed === 0 && t.badLines === 0;
    const exitCode = aborted ? EXIT.interrupted : ok ? EXIT.ok : EXIT.itemsFailed;
    ctx.reporter.finish({
      command: 'archive-forms',
      ok,
      aborted,
      exitCode,
      jobId,
      bucket,
      dryRun: false,
      ...(record?.packages ? { packages: record.packages } : {}),
    });
    describe(ctx, jobId, bucket, record);
    return exitCode;
  },
};
