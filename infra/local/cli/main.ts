/**
 * `ekb-archive`: one-off archive jobs from a laptop, with the same core and configuration keys as the functions.
 * Exit codes: 0 all done, 1 some refs failed / not found / bad lines, 2 usage or configuration error, 3 the work
 * could not run (host unreachable, credentials refused, bucket not accessible), 130 interrupted (Ctrl-C).
 */
import { parseArgs } from 'node:util';
import { CancelledError } from '../../../functions/core/errors.js';
import { redactText } from '../../../functions/core/util/redact.js';
import { tuneYoungGeneration } from '../../../functions/young-generation.js';
import { EXIT, explainError, UsageError } from './cli-errors.js';
import type { CommandSpec, OptionSpec, ParsedArgs } from './command.js';
// Types only: the context (the composition root, the AWS SDK, undici, the sandbox) loads when a command runs, so
// --help and --version answer without it.
import type { CliContext, CliIo } from './context.js';
import { CANCELLED_MESSAGE } from './copy-runner.js';
import { chooseMode, Reporter } from './progress.js';

const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  sandbox: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const GLOBAL_HELP = `Global options:
  --json        JSON lines on stdout (events, then a summary object); for machines
  --sandbox     use the built-in 合思 sandbox (demo tenant) instead of EKB_APP_KEY / EKB_APP_SECURITY
  -h, --help    this help

Configuration (environment):
  合思 side   EKB_APP_KEY, EKB_APP_SECURITY (or EKB_CREDENTIALS_SECRET), EKB_BASE_URL (default https://app.ekuaibao.com)
              and the other EKB_* keys of the functions (see README, "Configuration")
  S3 side     the AWS SDK's own settings: AWS_REGION, AWS_PROFILE / AWS_ACCESS_KEY_ID..., AWS_ENDPOINT_URL_S3
              (MinIO, R2, s3rver...), AWS_REQUEST_CHECKSUM_CALCULATION / AWS_RESPONSE_CHECKSUM_VALIDATION

Exit codes: 0 done, 1 some refs failed or lines were bad, 2 usage/configuration error, 3 could not run, 130 Ctrl-C`;

/** Every command (loaded when first needed: a command's code loads only when the CLI runs). */
export async function loadCommands(): Promise<CommandSpec[]> {
  const [
    { resolveCommand },
    { copyCommand },
    { syncCommand },
    { archiveFormsCommand },
    { jobCommand },
    { verifyCommand },
    { demoManifestCommand },
  ] = await Promise.all([
    import('./commands/resolve.js'),
    import('./commands/copy.js'),
    import('./commands/sync.js'),
    import('./commands/archive-forms.js'),
    import('./commands/job.js'),
    import('./commands/verify.js'),
    import('./commands/demo-manifest.js'),
  ]);
  return [
    resolveCommand,
    copyCommand,
    syncCommand,
    archiveFormsCommand,
    jobCommand,
    verifyCommand,
    demoManifestCommand,
  ];
}

function topHelp(commands: CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'ekb-archive: archive 合思 (Ekuaibao) attachments into S3 from the command line',
    '',
    'Usage: ekb-archive <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `ekb-archive <command> --help` for a command's options.",
    '',
    GLOBAL_HELP,
  ].join('\n');
}

/** `--name VALUE, -x   description` lines, aligned. */
export function optionLines(options: Record<string, OptionSpec>): string[] {
  const left = Object.entries(options).map(([name, o]) => {
    const value = o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : '';
    return `${o.short ? `-${o.short}, ` : ''}--${name}${value}`;
  });
  const width = Math.max(0, ...left.map((l) => l.length));
  return Object.values(options).map((o, i) =>
    `  ${(left[i] as string).padEnd(width)}  ${o.description ?? ''}`.trimEnd(),
  );
}

export function commandHelp(c: CommandSpec): string {
  const options = Object.keys(c.options).length > 0 ? ['Options:', ...optionLines(c.options), ''] : [];
  return [`Usage: ${c.usage}`, '', c.summary, '', ...options, GLOBAL_HELP].join('\n');
}

export function defaultIo(): CliIo {
  // `ekb-archive resolve … | head` closes the pipe early: that is the reader's choice, not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  return {
    stdout: {
      write: (t) => process.stdout.write(t),
      isTTY: process.stdout.isTTY === true,
      get columns() {
        return process.stdout.columns;
      },
    },
    stderr: {
      write: (t) => process.stderr.write(t),
      isTTY: process.stderr.isTTY === true,
      get columns() {
        return process.stderr.columns;
      },
    },
    stdin: process.stdin,
    env: process.env,
  };
}

export interface MainOptions {
  io?: CliIo;
  /** Aborts the run (Ctrl-C). main() installs SIGINT/SIGTERM handlers when none is given. */
  signal?: AbortSignal;
}

export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const io = options.io ?? defaultIo();
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    io.stdout.write('ekb-archive 0.1.0\n');
    return EXIT.ok;
  }
  const commands = await loadCommands();
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(`${topHelp(commands)}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`ekb-archive: unknown command "${name}"\n\n${topHelp(commands)}\n`);
    return EXIT.usage;
  }

  let parsed: ParsedArgs;
  try {
    const specs: Record<string, Pick<OptionSpec, 'type' | 'short' | 'multiple'>> = {};
    for (const [flag, o] of Object.entries(command.options)) {
      specs[flag] = {
        type: o.type,
        ...(o.short ? { short: o.short } : {}),
        ...(o.multiple ? { multiple: true } : {}),
      };
    }
    const result = parseArgs({
      args: [...rest],
      options: { ...GLOBAL_OPTIONS, ...specs },
      allowPositionals: true,
      strict: true,
    });
    parsed = { values: result.values as ParsedArgs['values'], positionals: result.positionals };
  } catch (err) {
    io.stderr.write(`ekb-archive ${command.name}: ${(err as Error).message}\n\nUsage: ${command.usage}\n`);
    return EXIT.usage;
  }
  if (parsed.values.help === true) {
    io.stdout.write(`${commandHelp(command)}\n`);
    return EXIT.ok;
  }
  const { min, max } = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    io.stderr.write(
      `ekb-archive ${command.name}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${parsed.positionals.length}\n\nUsage: ${command.usage}\n`,
    );
    return EXIT.usage;
  }

  const controller = new AbortController();
  const external = options.signal;
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    if (interrupts === 1) {
      io.stderr.write('\ninterrupted: stopping in-flight work (Ctrl-C again to quit at once)\n');
      controller.abort(new CancelledError(CANCELLED_MESSAGE));
    } else {
      process.exit(EXIT.interrupted);
    }
  };
  if (external) {
    if (external.aborted) controller.abort(external.reason);
    else external.addEventListener('abort', () => controller.abort(external.reason), { once: true });
  } else {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const reporter = new Reporter({
    mode: chooseMode(parsed.values.json === true, io.stderr),
    out: io.stdout,
    err: io.stderr,
  });
  let ctx: CliContext | undefined;
  try {
    const { createCliContext } = await import('./context.js');
    ctx = await createCliContext({
      io,
      reporter,
      signal: controller.signal,
      sandbox: parsed.values.sandbox === true,
      needsEkuaibao:
        typeof command.needsEkuaibao === 'function' ? command.needsEkuaibao(parsed) : command.needsEkuaibao,
    });
    const code = await command.run(ctx, parsed);
    return controller.signal.aborted ? EXIT.interrupted : code;
  } catch (err) {
    if (controller.signal.aborted) {
      io.stderr.write('ekb-archive: interrupted\n');
      return EXIT.interrupted;
    }
    const explained = explainError(err, {
      ekbBaseUrl: ctx?.config.ekbBaseUrl,
      s3Endpoint: io.env.AWS_ENDPOINT_URL_S3 ?? io.env.AWS_ENDPOINT_URL,
    });
    const hint =
      err instanceof UsageError && !explained.message.includes('\n') ? `\n\nUsage: ${command.usage}` : '';
    io.stderr.write(`ekb-archive ${command.name}: ${explained.message}${hint}\n`);
    return explained.exitCode;
  } finally {
    if (!external) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    await ctx?.close().catch(() => undefined);
  }
}

/**
 * The bin's entry (ekb-archive.mjs): main() with this process's streams and signals, and a last net for anything
 * that escapes a command (an error event nobody listened to): one line and exit 3, never a stack trace, unless
 * LOG_LEVEL=debug asks for it.
 */
export async function runAsProcess(argv: readonly string[]): Promise<void> {
  const last = (err: unknown): void => {
    const debug = process.env.LOG_LEVEL?.trim().toLowerCase() === 'debug';
    const text = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      `ekb-archive: unexpected error: ${redactText(text)}${debug && err instanceof Error ? `\n${redactText(err.stack ?? '')}` : ' (LOG_LEVEL=debug shows where)'}\n`,
    );
    process.exit(EXIT.fatal);
  };
  process.on('uncaughtException', last);
  process.on('unhandledRejection', last);
  tuneYoungGeneration();
  process.exitCode = await main(argv);
}
