/**
 * `ekb-archive resolve <refs.jsonl|->`: download URLs for refs, as JSON lines on stdout (one per ref, in input
 * order; refs 合思 does not know are marked `"status":"not_found"`). The URLs are the command's output: they go to
 * stdout only, never to a log.
 */

import { MAX_REFS_PER_CALL, type Resolution } from '../../../../functions/core/model/resolution.js';
import { chunk } from '../../../../functions/core/util/chunk.js';
import { EXIT, UsageError } from '../cli-errors.js';
import type { CommandSpec } from '../command.js';
import { readRefs } from '../ref-input.js';

export const resolveCommand: CommandSpec = {
  name: 'resolve',
  summary: 'print download URLs for refs ({"id","key"} JSON lines, or the vendor body array) as JSON lines',
  usage: 'ekb-archive resolve <refs.jsonl|-> [--expiration SECONDS] [--json] [--sandbox]',
  options: {
    expiration: {
      type: 'string',
      valueName: 'SECONDS',
      description: 'how long the URLs stay valid, 1-1800 (default 1800)',
    },
  },
  positionals: { min: 1, max: 1 },
  needsEkuaibao: true,
  async run(ctx, args) {
    const source = args.positionals[0] as string;
    const expirationRaw = args.values.expiration as string | undefined;
    const expiration = expirationRaw === undefined ? undefined : Number(expirationRaw);
    if (expiration !== undefined && (!Number.isInteger(expiration) || expiration < 1 || expiration > 1800)) {
      throw new UsageError(`--expiration must be whole seconds from 1 to 1800 (got "${expirationRaw}")`);
    }
    let input: Awaited<ReturnType<typeof readRefs>>;
    try {
      input = await readRefs(source, ctx.io.stdin);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
        throw new UsageError(`cannot read ${source} (${code})`);
      }
      throw err;
    }
    const { reporter } = ctx;
    for (const bad of input.bad) reporter.event({ type: 'bad_line', line: bad.line, message: bad.message });
    reporter.addRefs(input.refs.length);

    const client = await ctx.ekuaibao();
    let found = 0;
    let notFound = 0;
    // Calls of ≤100 refs, printed as they come back, so a large file shows progress and uses little memory.
    for (const part of chunk(input.refs, MAX_REFS_PER_CALL * 10)) {
      const answers: Resolution[] = await client.resolveDownloadUrls(
        part.map(({ id, key }) => ({ id, key })),
        { signal: ctx.signal, ...(expiration === undefined ? {} : { expiration }) },
      );
      answers.forEach((answer, i) => {
        const line = (part[i] as { line: number }).line;
        if (answer.status === 'resolved') found += 1;
        else notFound += 1;
        const out = {
          line,
          ...answer,
          ...(answer.status === 'resolved' ? { expiresAt: new Date(answer.expiresAt).toISOString() } : {}),
        };
        const record = ctx.reporter.mode === 'json' ? { type: 'resolution', ...out } : out;
        ctx.io.stdout.write(`${JSON.stringify(record)}\n`);
      });
    }
    const ok = notFound === 0 && input.bad.length === 0;
    const exitCode = ok ? EXIT.ok : EXIT.itemsFailed;
    if (reporter.mode === 'json') {
      reporter.finish({
        command: 'resolve',
        ok,
        aborted: false,
        exitCode,
        resolved: found,
        notFound,
        totals: { failed: notFound },
      });
    } else {
      ctx.io.stderr.write(
        `resolve: ${found} resolved, ${notFound} not found${input.bad.length ? `, ${input.bad.length} bad lines` : ''}\n`,
      );
    }
    return exitCode;
  },
};
