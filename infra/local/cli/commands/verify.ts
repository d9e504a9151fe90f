/**
 * `ekb-archive verify --job <id> | --prefix <p> | --keys <file|->`: compares the bucket with what was recorded and
 * reports every object that is missing, changed or unrecorded. By S3's stored checksum where it can (no download),
 * by reading the bytes (SHA-256) where it must, or always with `--deep`. Memory stays bounded (a batch, a listing
 * page, a line at a time); the progress bar shows objects and bytes read.
 * Exit codes: 0 every object matches its record; 1 something differs (or could not be checked, or a keys line was
 * bad); 2 usage (also: no such job); 3 could not run (bucket not accessible); 130 Ctrl-C.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { AppError, ErrorCode } from '../../../../functions/core/errors.js';
import {
  differs,
  type ExpectedObject,
  type Finding,
  type VerifyTotals,
} from '../../../../functions/core/model/verify.js';
import {
  jobItems,
  jobRecordOf,
  parseKeyLine,
  prefixItems,
} from '../../../../functions/core/verify/sources.js';
import { verifyItems } from '../../../../functions/core/verify/verify-items.js';
import { EXIT, UsageError } from '../cli-errors.js';
import type { CommandSpec } from '../command.js';
import type { CliContext } from '../context.js';
import { parseConcurrency } from '../copy-pipeline.js';
import { formatBytes, formatDuration, type Summary } from '../progress.js';

type Source =
  | { kind: 'job'; jobId: string }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'keys'; file: string };

function sourceOf(values: Record<string, unknown>): Source {
  const given = (['job', 'prefix', 'keys'] as const).filter((k) => typeof values[k] === 'string');
  if (given.length !== 1)
    throw new UsageError('give exactly one of --job <id>, --prefix <prefix>, --keys <file|->');
  const kind = given[0] as 'job' | 'prefix' | 'keys';
  const value = values[kind] as string;
  if (kind === 'job') return { kind, jobId: value };
  if (kind === 'prefix') return { kind, prefix: value };
  return { kind, file: value };
}

/** The S3 adapters, loaded when the command runs (never for --help): the AWS SDK. */
async function adapters() {
  const [storage, verify] = await Promise.all([
    import('../../../../functions/compose/storage.js'),
    import('../../../../functions/compose/verify.js'),
  ]);
  return {
    reportStoreIn: storage.reportStoreIn,
    textStoreIn: storage.textStoreIn,
    archiveReaderIn: verify.archiveReaderIn,
  };
}

/** The expected objects of the source, counted into the bar as they are found. */
async function* itemsOf(ctx: CliContext, bucket: string, source: Source, badLines: Finding[]) {
  const { reportStoreIn, textStoreIn, archiveReaderIn } = await adapters();
  const c = ctx.composition();
  const { reportPrefix } = ctx.config;
  if (source.kind === 'job') {
    const deps = { reports: reportStoreIn(c, bucket), index: textStoreIn(c, bucket), reportPrefix };
    let record: Awaited<ReturnType<typeof jobRecordOf>>;
    try {
      record = await jobRecordOf(source.jobId, deps);
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.JobNotFound) {
        throw new UsageError(`there is no job ${source.jobId} in s3://${bucket}/${reportPrefix}`);
      }
      throw err;
    }
    for await (const batch of jobItems(record, deps)) {
      ctx.reporter.addRefs(batch.items.length);
      yield* batch.items;
    }
    return;
  }
  if (source.kind === 'prefix') {
    const reader = archiveReaderIn(c, bucket);
    for await (const page of prefixItems(reader, source.prefix, { reportPrefix, signal: ctx.signal })) {
      ctx.reporter.addRefs(page.items.length);
      yield* page.items;
    }
    return;
  }
  yield* keyFileItems(ctx, source.file, badLines);
}

async function* keyFileItems(
  ctx: CliContext,
  file: string,
  badLines: Finding[],
): AsyncGenerator<ExpectedObject> {
  const input: Readable = file === '-' ? ctx.io.stdin : createReadStream(file);
  let n = 0;
  for await (const raw of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    n += 1;
    const parsed = parseKeyLine(raw, n);
    if ('skip' in parsed) continue;
    if ('bad' in parsed) {
      badLines.push({ objectKey: '', status: 'error', line: n, detail: `line ${n}: ${parsed.bad.message}` });
      continue;
    }
    ctx.reporter.addRefs(1);
    yield parsed.item;
  }
}

const STATUS_WIDTH = 10;

function findingLine(f: Finding): string {
  const where = f.objectKey || (f.line !== undefined ? `line ${f.line}` : '');
  return `${f.status.padEnd(STATUS_WIDTH)} ${where}${f.detail ? `: ${f.detail}` : ''}`;
}

function humanLine(t: VerifyTotals) {
  return (s: Summary): string => {
    const state = s.aborted ? 'ABORTED' : s.ok ? 'OK' : 'DIFFERS';
    return (
      `verify: ${state}: ${t.checked} checked, ${t.ok} ok, ${t.changed} changed, ${t.missing} missing, ` +
      `${t.unrecorded} unrecorded, ${t.errors} not checked; ${formatBytes(t.bytesRead)} read to hash, in ${formatDuration(s.durationMs)}`
    );
  };
}

export const verifyCommand: CommandSpec = {
  name: 'verify',
  summary: 'check the bucket against what was recorded: report missing, changed and unrecorded objects',
  usage:
    'ekb-archive verify (--job <jobId> | --prefix <prefix> | --keys <file|->) [--bucket NAME] [--deep] [--concurrency N] [--all] [--json]',
  options: {
    job: {
      type: 'string',
      valueName: 'ID',
      description: "check every file in the job's index, and every file its reports name",
    },
    prefix: {
      type: 'string',
      valueName: 'PREFIX',
      description: 'check every object under the prefix against the proof it carries',
    },
    keys: {
      type: 'string',
      valueName: 'FILE|-',
      description: 'check the object keys (or exported index lines) in a file, or - for stdin',
    },
    bucket: { type: 'string', valueName: 'NAME', description: 'the archive bucket (default: EKB_BUCKET)' },
    deep: {
      type: 'boolean',
      description: "read and hash every object instead of comparing S3's stored checksum",
    },
    concurrency: {
      type: 'string',
      valueName: 'N',
      description: 'objects checked at once, 1-256 (default: 16)',
    },
    all: { type: 'boolean', description: 'list every object checked, not only those that differ' },
  },
  positionals: { min: 0, max: 0 },
  needsEkuaibao: false,
  async run(ctx, args) {
    const source = sourceOf(args.values);
    const bucket = (args.values.bucket as string | undefined) ?? ctx.config.bucket;
    if (!bucket) throw new UsageError('which bucket? pass --bucket or set EKB_BUCKET');
    const concurrency = parseConcurrency(args.values.concurrency as string | undefined, 16);
    const all = args.values.all === true || ctx.reporter.mode === 'json';
    const { reporter } = ctx;
    reporter.setLabel(args.values.deep === true ? 'verifying (deep)' : 'verifying');
    const badLines: Finding[] = [];
    let live = { files: 0, bytes: 0 };
    const show = (f: Finding): void => {
      if (reporter.mode === 'json') ctx.io.stdout.write(`${JSON.stringify({ type: 'finding', ...f })}\n`);
      else if (f.status !== 'ok' || all) reporter.note(findingLine(f));
    };
    const { archiveReaderIn } = await adapters();
    const totals = await verifyItems(
      itemsOf(ctx, bucket, source, badLines),
      archiveReaderIn(ctx.composition(), bucket),
      {
        concurrency,
        deep: args.values.deep === true,
        signal: ctx.signal,
        onFinding: (f) => {
          live = { ...live, files: live.files + 1 };
          reporter.setLive(live.files, live.bytes);
          show(f);
        },
        onBytes: (n) => {
          live = { ...live, bytes: live.bytes + n };
        },
      },
    );
    for (const bad of badLines) {
      totals.errors += 1;
      show(bad);
    }
    const aborted = ctx.signal.aborted;
    const ok = !aborted && !differs(totals);
    const exitCode = aborted ? EXIT.interrupted : ok ? EXIT.ok : EXIT.itemsFailed;
    reporter.finish({
      command: 'verify',
      ok,
      aborted,
      exitCode,
      bucket,
      scope: source,
      deep: args.values.deep === true,
      verify: totals,
      humanLine: humanLine(totals),
    });
    return exitCode;
  },
};
