/**
 * `ekb-archive sync --since <date>`: a one-off run of the scheduled sync's core (list every form changed since
 * the date, walk it for attachments, one job per window) with the in-process queue feeding the copy engine.
 * Its state (watermark, lock) lives in memory: a laptop backfill never moves the deployed schedule's watermark.
 */
import { refsJobStarter } from '../../../../functions/core/jobs/create-job.js';
import { parseStartDate } from '../../../../functions/core/sync/china-time.js';
import { runSync, type SyncSummary } from '../../../../functions/core/sync/run-sync.js';
import { syncOptionsFromConfig } from '../../../../functions/core/sync/sync-options.js';
import { createMemoryVersionedStore } from '../../../../functions/core/sync/versioned-store.js';
import { EXIT, UsageError } from '../cli-errors.js';
import type { CommandSpec } from '../command.js';
import { checkKeyTemplate, cliLanes, createPipeline, parseConcurrency } from '../copy-pipeline.js';
import { preflight } from '../preflight.js';

export const syncCommand: CommandSpec = {
  name: 'sync',
  summary:
    'archive the attachments of every form changed since a date (one-off; the schedule is not touched)',
  usage:
    'ekb-archive sync --since <yyyy-MM-dd[ HH:mm:ss]> [--bucket NAME] [--form-types expense,loan,…] [--concurrency N] [--dry-run] [--key-template T] [--json] [--sandbox]',
  options: {
    since: {
      type: 'string',
      valueName: 'DATE',
      description: 'forms updated since then (China time): yyyy-MM-dd or "yyyy-MM-dd HH:mm:ss" (required)',
    },
    bucket: { type: 'string', valueName: 'NAME', description: 'the archive bucket (default: EKB_BUCKET)' },
    'form-types': {
      type: 'string',
      valueName: 'LIST',
      description: 'form types to list, comma-separated (default: EKB_SYNC_FORM_TYPES, all seven)',
    },
    concurrency: {
      type: 'string',
      valueName: 'N',
      description:
        'files downloading at once (their uploads overlap the next downloads), 1-256 (default: EKB_COPY_CONCURRENCY, 8)',
    },
    'dry-run': { type: 'boolean', description: 'list the forms and print the object keys; write nothing' },
    'key-template': {
      type: 'string',
      valueName: 'T',
      description:
        'object key template (default: EKB_SYNC_OBJECT_KEY_TEMPLATE, forms/{formType}/{flowCode}/{fileId}-{fileName})',
    },
  },
  positionals: { min: 0, max: 0 },
  needsEkuaibao: true,
  async run(ctx, args) {
    const since = args.values.since as string | undefined;
    if (!since) throw new UsageError('--since is required, e.g. --since 2024-01-01 (China time)');
    try {
      parseStartDate(since, '--since');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const dryRun = args.values['dry-run'] === true;
    const keyTemplate =
      (args.values['key-template'] as string | undefined) ?? ctx.config.syncObjectKeyTemplate;
    checkKeyTemplate(keyTemplate);
    const lanes = cliLanes(ctx, keyTemplate);
    const concurrency = parseConcurrency(
      args.values.concurrency as string | undefined,
      ctx.config.copyConcurrency,
    );
    const bucket = (args.values.bucket as string | undefined) ?? ctx.config.bucket;
    if (!bucket && !dryRun) throw new UsageError('which bucket? pass --bucket or set EKB_BUCKET');
    const formTypesRaw = args.values['form-types'] as string | undefined;
    const formTypes = formTypesRaw
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);

    const pipeline = await createPipeline(ctx, { bucket, concurrency, dryRun, lanes });
    // Its jobs' ids come per window, later: the bucket is asked for here, and written by the first report.
    await preflight(ctx, {
      ekuaibao: true,
      ...(dryRun ? {} : { bucket: { kind: 'head', bucket: bucket as string } }),
    });
    const client = await ctx.ekuaibao();
    const { reporter } = ctx;
    reporter.setLabel(dryRun ? 'planning' : 'syncing');
    let summary: SyncSummary | undefined;
    let fatal: unknown;
    try {
      summary = await runSync(
        {
          ...syncOptionsFromConfig(ctx.config),
          // This command archives the attachments the forms' JSON names; `archive-forms --since` archives packages.
          mode: 'files',
          ...(formTypes ? { formTypes } : {}),
          startDate: since,
          keyTemplate,
          signal: pipeline.signal,
        },
        {
          forms: client,
          state: createMemoryVersionedStore(),
          startJob: refsJobStarter(
            {
              queue: pipeline.runner,
              store: pipeline.store,
              logger: ctx.logger,
              reportPrefix: ctx.config.reportPrefix,
              lanes,
            },
            {
              onBadItem: (bad) =>
                ctx.reporter.event({
                  type: 'bad_line',
                  line: bad.line,
                  message: bad.message,
                  ...(bad.code === undefined ? {} : { code: bad.code }),
                }),
            },
          ),
          logger: ctx.logger,
        },
      );
      await pipeline.runner.drain();
    } catch (err) {
      fatal = err;
      await pipeline.runner.drain();
    }
    const aborted = ctx.signal.aborted;
    if (fatal && !aborted && !pipeline.stopped) throw fatal;
    if (pipeline.stopped) throw pipeline.stopped;
    const t = reporter.totals;
    const ok = !aborted && t.failed === 0 && t.badLines === 0 && summary?.status !== 'partial';
    const exitCode = aborted ? EXIT.interrupted : ok ? EXIT.ok : EXIT.itemsFailed;
    reporter.finish({
      command: dryRun ? 'sync --dry-run' : 'sync',
      ok,
      aborted,
      exitCode,
      ...(bucket ? { bucket } : {}),
      dryRun,
      ...(summary
        ? {
            sync: {
              status: summary.status,
              windows: summary.windows,
              forms: summary.forms,
              formsDeleted: summary.formsDeleted,
              formsWithoutAttachments: summary.formsWithoutAttachments,
              duplicates: summary.duplicates,
              jobIds: summary.jobIds,
            },
          }
        : {}),
    });
    if (summary && reporter.mode !== 'json') {
      ctx.io.stderr.write(
        `sync: ${summary.forms} forms in ${summary.windows} windows (${summary.formsDeleted} deleted, ${summary.formsWithoutAttachments} without attachments); jobs: ${summary.jobIds.join(', ') || 'none'}\n`,
      );
    }
    return exitCode;
  },
};
