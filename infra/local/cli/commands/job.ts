/**
 * `ekb-archive job <jobId>`: a job's status from the bucket's reports (the same aggregation GET /copy-jobs/{jobId}
 * answers with), once or `--wait` until it is no longer running. Exit 0 done, 1 done with failures (or not found).
 * `--index` prints the job's file index instead (JSON lines, or CSV with `--format csv`): exit 0 when exported.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { getJobStatus } from '../../../../functions/core/jobs/job-status.js';
import type { JobStatus } from '../../../../functions/core/model/job.js';
import { EXIT, UsageError } from '../cli-errors.js';
import type { CommandSpec } from '../command.js';
import { exportJobIndex, parseIndexFormat } from '../index-export.js';
import { formatBytes } from '../progress.js';

function describeSource(source: JobStatus['source']): string {
  switch (source.kind) {
    case 'manifest':
      return `manifest s3://${source.bucket}/${source.key}`;
    case 'schedule':
      return `scheduled sync ${source.windowStart} → ${source.windowEnd}`;
    case 'cli':
      return `CLI${source.manifest ? ` (${source.manifest})` : ''}`;
    case 'form-archives':
      return source.via
        ? `${source.via === 'push' ? 'push' : 'replayed failure'} of form ${source.flowId} (${source.request})`
        : `form-archive request ${source.request}`;
    case 'hook':
      return `${source.via === 'push' ? 'push' : 'replayed failure'} of form ${source.flowId}`;
    case 'cli-form-archives':
      return 'CLI archive-forms';
    default:
      return `API${source.manifest ? ` (${source.manifest})` : ''}`;
  }
}

export function describeStatus(s: JobStatus): string[] {
  const t = s.totals;
  const source = describeSource(s.source);
  const lines = [
    `job ${s.jobId}: ${s.state}`,
    `  created  ${s.createdAt} from ${source}`,
    `  refs     ${t.refs}: ${t.copied} copied (${formatBytes(t.bytes)}), ${t.skipped} skipped, ${t.failed} failed, ${t.pending} pending`,
  ];
  if (s.batches)
    lines.push(
      `  batches  ${s.batches.total} queued, ${s.batches.reported} reported, ${s.batches.final} final`,
    );
  if (s.packages) {
    const p = s.packages;
    lines.push(`  packages ${p.queued} queued, ${p.unchanged} unchanged (archived already), ${p.held} held`);
    for (const h of p.heldForms) lines.push(`  held     ${h.code} (${h.flowId}): ${h.reason}`);
  }
  for (const b of s.badLines) lines.push(`  bad line ${b.line}: ${b.message}`);
  for (const f of s.failures)
    lines.push(`  failed   ${f.id} ${JSON.stringify(f.key)}: ${f.code}: ${f.message}`);
  return lines;
}

export const jobCommand: CommandSpec = {
  name: 'job',
  summary: "print a job's status from the bucket's reports (jobs/<jobId>/…)",
  usage: 'ekb-archive job <jobId> [--bucket NAME] [--wait] [--json] [--index [--format ndjson|csv]]',
  options: {
    bucket: {
      type: 'string',
      valueName: 'NAME',
      description: 'the bucket holding the job (default: EKB_BUCKET)',
    },
    wait: { type: 'boolean', description: 'wait until the job is no longer running, then print it' },
    index: {
      type: 'boolean',
      description: "write the job's file index (its proof records) to stdout instead of its status",
    },
    format: {
      type: 'string',
      valueName: 'ndjson|csv',
      description: 'with --index: JSON lines (default) or CSV',
    },
  },
  positionals: { min: 1, max: 1 },
  needsEkuaibao: false,
  async run(ctx, args) {
    const jobId = args.positionals[0] as string;
    const bucket = (args.values.bucket as string | undefined) ?? ctx.config.bucket;
    if (!bucket) throw new UsageError('which bucket? pass --bucket or set EKB_BUCKET');
    const format = parseIndexFormat(args.values.format as string | undefined);
    if (args.values.format !== undefined && args.values.index !== true) {
      throw new UsageError('--format goes with --index (the file index as JSON lines or CSV)');
    }
    // Loaded when the command runs (never for --help): the AWS SDK.
    const { reportStoreIn } = await import('../../../../functions/compose/storage.js');
    const store = reportStoreIn(ctx.composition(), bucket);
    let status = await getJobStatus(jobId, store, ctx.config.reportPrefix);
    while (status?.state === 'running' && args.values.wait === true && !ctx.signal.aborted) {
      ctx.reporter.setLabel(`job ${jobId}`);
      await sleep(2_000, undefined, { signal: ctx.signal }).catch(() => undefined);
      status = await getJobStatus(jobId, store, ctx.config.reportPrefix);
    }
    if (!status) {
      ctx.io.stderr.write(`job ${jobId}: not found in s3://${bucket}/${ctx.config.reportPrefix}\n`);
      if (ctx.reporter.mode === 'json')
        ctx.io.stdout.write(`${JSON.stringify({ type: 'job', jobId, found: false })}\n`);
      return EXIT.itemsFailed;
    }
    if (args.values.index === true) {
      const lines = await exportJobIndex(ctx, bucket, jobId, format);
      ctx.io.stderr.write(`job ${jobId}: ${lines} file record(s), ${status.state}\n`);
      return EXIT.ok;
    }
    if (ctx.reporter.mode === 'json') {
      ctx.io.stdout.write(`${JSON.stringify({ type: 'job', ...status })}\n`);
    } else {
      for (const line of describeStatus(status)) ctx.io.stdout.write(`${line}\n`);
    }
    return status.state === 'done_with_failures' ? EXIT.itemsFailed : EXIT.ok;
  },
};
