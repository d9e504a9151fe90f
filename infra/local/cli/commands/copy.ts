/**
 * `ekb-archive copy --manifest <file|-|s3://bucket/key>`: archive every ref of a manifest (JSON lines, CSV or a
 * JSON array: the same parsers as the functions), in-process: batches of ≤100 refs, each resolved right before
 * its files stream into the bucket. Bad manifest lines are reported with their line numbers; the good ones still
 * run. The job's record and batch reports go to the bucket as the functions write them, so `ekb-archive job <id>`
 * and GET /copy-jobs/{id} show CLI jobs too.
 */
import { createReadStream } from 'node:fs';
import { manifestSource } from '../../../../functions/compose/storage.js';
import { parseManifest } from '../../../../functions/core/attachments/manifest.js';
import { createJob } from '../../../../functions/core/jobs/create-job.js';
import { newJobId } from '../../../../functions/core/jobs/keys.js';
import type { BadInput } from '../../../../functions/core/model/job.js';
import { EXIT, UsageError } from '../cli-errors.js';
import type { CommandSpec } from '../command.js';
import type { CliContext } from '../context.js';
import { checkKeyTemplate, cliLanes, createPipeline, parseConcurrency } from '../copy-pipeline.js';

/** `s3://bucket/key` → its parts, or undefined for a local path. */
export function parseS3Url(text: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(text);
  if (!m) {
    if (text.startsWith('s3://')) throw new UsageError(`--manifest ${text}: expected s3://bucket/key`);
    return undefined;
  }
  return { bucket: m[1] as string, key: m[2] as string };
}

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

export const copyCommand: CommandSpec = {
  name: 'copy',
  summary: 'archive the attachments a manifest lists into the bucket (in-process, with progress)',
  usage:
    'ekb-archive copy --manifest <file|-|s3://bucket/key> [--bucket NAME] [--concurrency N] [--dry-run] [--key-template T] [--overwrite] [--job-id ID] [--json] [--sandbox]',
  options: {
    manifest: { type: 'string', short: 'm' },
    bucket: { type: 'string' },
    concurrency: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'key-template': { type: 'string' },
    'job-id': { type: 'string' },
    /** Replace an object of other identity at a target key (default: it fails target_occupied). */
    overwrite: { type: 'boolean' },
  },
  positionals: { min: 0, max: 0 },
  needsEkuaibao: true,
  async run(ctx, args) {
    const manifest = args.values.manifest as string | undefined;
    if (!manifest) throw new UsageError('--manifest is required (a file, - for stdin, or s3://bucket/key)');
    const dryRun = args.values['dry-run'] === true;
    const keyTemplate = (args.values['key-template'] as string | undefined) ?? ctx.config.objectKeyTemplate;
    checkKeyTemplate(keyTemplate);
    const lanes = cliLanes(ctx, keyTemplate);
    const overwrite = args.values.overwrite === true ? { onConflict: 'overwrite' as const } : {};
    const concurrency = parseConcurrency(
      args.values.concurrency as string | undefined,
      ctx.config.copyConcurrency,
    );
    const bucket = (args.values.bucket as string | undefined) ?? ctx.config.bucket;
    if (!bucket && !dryRun) throw new UsageError('which bucket? pass --bucket or set EKB_BUCKET');
    const jobId = (args.values['job-id'] as string | undefined) ?? newJobId(new Date());
    const s3Source = parseS3Url(manifest);

    const pipeline = await createPipeline(ctx, { bucket, concurrency, dryRun, lanes });
    const { reporter } = ctx;
    reporter.setLabel(dryRun ? 'planning' : 'copying');
    let aborted = false;
    let fatal: unknown;
    try {
      let body: AsyncIterable<Uint8Array | string>;
      if (s3Source) {
        // The AWS SDK's own settings: region, credential chain, AWS_ENDPOINT_URL_S3, checksum settings.
        body = (await manifestSource(ctx.composition()).open(s3Source.bucket, s3Source.key, ctx.signal)).body;
      } else if (manifest === '-') {
        body = ctx.io.stdin;
      } else {
        body = createReadStream(manifest);
      }
      const items = parseManifest(body, { name: s3Source?.key ?? manifest });
      try {
        await createJob(
          {
            jobId,
            source: { kind: 'cli', manifest },
            items,
            keyTemplate,
            rejectInvalidManifest: true,
            onBadItem: reportBadLine(ctx),
            ...overwrite,
          },
          {
            queue: pipeline.runner,
            store: pipeline.store,
            logger: ctx.logger,
            reportPrefix: ctx.config.reportPrefix,
            lanes,
          },
        );
      } catch (err) {
        if (!ctx.signal.aborted) throw err;
      }
      await pipeline.runner.drain();
      aborted = ctx.signal.aborted;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
        fatal = new UsageError(`cannot read the manifest ${manifest} (${code})`);
      } else {
        fatal = err;
      }
      await pipeline.runner.drain();
    }
    if (fatal && !ctx.signal.aborted) throw fatal;
    const t = reporter.totals;
    const ok = !aborted && t.failed === 0 && t.badLines === 0;
    const exitCode = aborted ? EXIT.interrupted : ok ? EXIT.ok : EXIT.itemsFailed;
    reporter.finish({
      command: dryRun ? 'copy --dry-run' : 'copy',
      ok,
      aborted: aborted || ctx.signal.aborted,
      exitCode,
      jobId,
      ...(bucket ? { bucket } : {}),
      dryRun,
    });
    if (!dryRun && reporter.mode !== 'json') {
      ctx.io.stderr.write(`job ${jobId}: reports in s3://${bucket}/${ctx.config.reportPrefix}${jobId}/\n`);
    }
    return exitCode;
  },
};
