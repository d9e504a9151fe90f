/**
 * What every command gets: the parsed configuration (the same EKB_* keys as the functions), the reporter, the
 * abort signal wired to Ctrl-C, a logger that writes around the progress bar, and the 合思 client: the tenant's
 * when credentials are set, or the embedded sandbox with `--sandbox`.
 */
import type { Readable } from 'node:stream';
import { credentialsFromConfig, NO_CREDENTIALS_MESSAGE } from '../../../functions/aws/credentials.js';
import { type Composition, compose } from '../../../functions/compose/composition.js';
import { ekuaibaoClient } from '../../../functions/compose/ekuaibao.js';
import { type Config, loadConfig } from '../../../functions/config.js';
import type { EkuaibaoClient } from '../../../functions/core/ekuaibao/client.js';
import type { Logger } from '../../../functions/core/ports.js';
import { createLogger, type LogLevel } from '../../../functions/logger.js';
import type { EkuaibaoSandbox } from '../sandbox/types.js';
import { UsageError } from './cli-errors.js';
import type { Output, Reporter } from './progress.js';

export type Env = Record<string, string | undefined>;

export interface CliIo {
  stdout: Output;
  stderr: Output;
  stdin: Readable;
  env: Env;
}

export interface CliContext {
  readonly io: CliIo;
  readonly env: Env;
  config: Config;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * The functions' composition root on this command's config, its S3 client on the CLI's environment (created on
   * first use, closed with the context). Commands take their adapters from it.
   */
  composition(): Composition;
  /** The 合思 client (created on first use); with --sandbox, one talking to the embedded sandbox. */
  ekuaibao(): Promise<EkuaibaoClient>;
  /** The embedded sandbox, when --sandbox started one. */
  readonly sandbox: EkuaibaoSandbox | undefined;
  /** 合思 credentials are set (or --sandbox gave the sandbox's). */
  readonly hasEkuaibaoCredentials: boolean;
  /** Closes what the context opened (client, sandbox). */
  close(): Promise<void>;
}

/** Config for the CLI: every bad key at once, shown as a usage error. */
export function loadCliConfig(env: Env): Config {
  return loadConfig(env);
}

const MISSING_CREDENTIALS_HELP = [
  `${NO_CREDENTIALS_MESSAGE}.`,
  '  Set them for your tenant (and EKB_BASE_URL if your host is not https://app.ekuaibao.com), e.g.',
  '    export EKB_APP_KEY=... EKB_APP_SECURITY=... EKB_BASE_URL=https://dd2.hosecloud.com',
  '  or add --sandbox to run against the built-in 合思 sandbox (demo files), as `npm start` does.',
].join('\n');

export interface ContextOptions {
  io: CliIo;
  reporter: Reporter;
  signal: AbortSignal;
  /** Start the embedded sandbox and use it as 合思. */
  sandbox: boolean;
  /** The command talks to 合思 (resolve, copy, sync): check credentials before any work. */
  needsEkuaibao: boolean;
}

export async function createCliContext(options: ContextOptions): Promise<CliContext> {
  const { io, reporter } = options;
  let config = loadCliConfig(io.env);
  let sandbox: EkuaibaoSandbox | undefined;
  if (options.sandbox) {
    // Loaded only with --sandbox: the sandbox is a whole HTTP server a real run never needs.
    const { startEkuaibaoSandbox } = await import('../sandbox/server.js');
    sandbox = await startEkuaibaoSandbox({});
    // The sandbox serves plain-http loopback download URLs; only this local mode may accept them.
    config = {
      ...config,
      ekbBaseUrl: sandbox.baseUrl,
      ekbAppKey: sandbox.appKey,
      ekbAppSecurity: sandbox.appSecurity,
      ekbCredentialsSecret: undefined,
      allowInsecureDownloads: true,
    };
    reporter.note(`using the built-in 合思 sandbox at ${sandbox.baseUrl} (demo tenant, not your data)`);
  }
  const hasEkuaibaoCredentials = sandbox !== undefined || credentialsFromConfig(config).source !== 'none';
  if (options.needsEkuaibao && !hasEkuaibaoCredentials) throw new UsageError(MISSING_CREDENTIALS_HELP);
  const level = (io.env.LOG_LEVEL?.trim().toLowerCase() || 'warn') as LogLevel;
  const logger = createLogger({
    level: ['debug', 'info', 'warn', 'error'].includes(level) ? level : 'warn',
    service: 'ekb-archive',
    write: (line) => reporter.note(line),
  });
  let composition: Composition | undefined;
  let closed = false;
  const ctx: CliContext = {
    io,
    env: io.env,
    get config() {
      return config;
    },
    set config(next: Config) {
      config = next;
    },
    reporter,
    signal: options.signal,
    logger,
    sandbox,
    hasEkuaibaoCredentials,
    composition() {
      composition ??= compose(config, { logger, env: io.env });
      return composition;
    },
    async ekuaibao() {
      return ekuaibaoClient(ctx.composition());
    },
    async close() {
      if (closed) return;
      closed = true;
      await composition?.close();
      await sandbox?.close();
    },
  };
  return ctx;
}
