/**
 * `ekb-archive job <jobId> --index [--format ndjson|csv]`: the job's file index from the bucket to stdout, one
 * batch object at a time (memory: one batch, whatever the job's size), as JSON lines or CSV.
 */
import { csvHeader, csvRow, ndjsonRow, readJobIndex } from '../../../functions/core/jobs/file-index.js';
import { UsageError } from './cli-errors.js';
import type { CliContext } from './context.js';

export type IndexExportFormat = 'ndjson' | 'csv';

export function parseIndexFormat(raw: string | undefined): IndexExportFormat {
  if (raw === undefined || raw === 'ndjson' || raw === 'jsonl') return 'ndjson';
  if (raw === 'csv') return 'csv';
  throw new UsageError(`--format must be ndjson or csv (got "${raw}")`);
}

/** Writes the index; returns how many lines were written. */
export async function exportJobIndex(
  ctx: CliContext,
  bucket: string,
  jobId: string,
  format: IndexExportFormat,
): Promise<number> {
  // Loaded when the export runs (never for --help): the AWS SDK.
  const { textStoreIn } = await import('../../../functions/compose/storage.js');
  const store = textStoreIn(ctx.composition(), bucket);
  const row = format === 'csv' ? csvRow : ndjsonRow;
  if (format === 'csv') ctx.io.stdout.write(csvHeader());
  let lines = 0;
  for await (const page of readJobIndex(jobId, store, { reportPrefix: ctx.config.reportPrefix })) {
    if (ctx.signal.aborted) break;
    ctx.io.stdout.write(page.lines.map(row).join(''));
    lines += page.lines.length;
  }
  return lines;
}
