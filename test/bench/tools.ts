/**
 * The two copiers of the rclone section as a user runs them, and the wrapper that measures one run of either.
 *
 * - ekb-archive: the CLI's own bin (infra/local/cli/ekb-archive.mjs, which runs the bundle `npm ci` built in
 *   dist/local, as `npx ekb-archive` does) with `copy --manifest … --concurrency 8`; 合思 is the sandbox (EKB_* keys), S3 is
 *   s3rver through the AWS SDK's own environment (AWS_ENDPOINT_URL_S3 and the S3RVER key pair).
 * - rclone: `rclone copy :http:/<dir>/ :s3:<bucket>/<prefix>/ --transfers 8 --checkers 8`, every backend option
 *   on the command line and `--config ""` (in-memory configuration), so no rclone.conf is read or written.
 *
 * Each run goes through GNU time (`/usr/bin/time`), whose wait4() rusage covers the tool's whole process tree
 * (user + system CPU of the process and every child it waited for) and its peak RSS
 * (ru_maxrss: the largest resident set of any one process in that tree).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI_BIN = fileURLToPath(new URL('../../infra/local/cli/ekb-archive.mjs', import.meta.url));
export const GNU_TIME = '/usr/bin/time';
/** The S3 credentials s3rver accepts (DESIGN.md, known traps). */
export const S3RVER_KEY = 'S3RVER';

export interface S3Target {
  endpoint: string;
  bucket: string;
  region: string;
}

export interface CliCopyOptions {
  manifest: string;
  bucket: string;
  concurrency: number;
  /** Where each file goes, e.g. bench/<prefix>/{fileName} (the same keys rclone writes). */
  keyTemplate: string;
}

export function cliCopyArgs(o: CliCopyOptions): string[] {
  return [
    'copy',
    '--manifest',
    o.manifest,
    '--bucket',
    o.bucket,
    '--concurrency',
    String(o.concurrency),
    '--key-template',
    o.keyTemplate,
  ];
}

export interface CliEnvOptions {
  ekbBaseUrl: string;
  appKey: string;
  appSecurity: string;
  s3: S3Target;
  /** PATH and HOME of the caller; nothing else of the caller's environment is passed on. */
  path: string;
  home: string;
}

/**
 * The CLI's environment: the documented EKB_* keys and the AWS SDK's standard variables, nothing inherited, so a
 * developer's AWS_PROFILE or NODE_OPTIONS cannot change what is measured. Plain-http loopback downloads are what
 * the sandbox serves; EKB_ALLOW_INSECURE_DOWNLOADS admits them (the download guard still runs).
 */
export function cliEnv(o: CliEnvOptions): Record<string, string> {
  return {
    PATH: o.path,
    HOME: o.home,
    EKB_BASE_URL: o.ekbBaseUrl,
    EKB_APP_KEY: o.appKey,
    EKB_APP_SECURITY: o.appSecurity,
    EKB_ALLOW_INSECURE_DOWNLOADS: 'true',
    AWS_ENDPOINT_URL_S3: o.s3.endpoint,
    AWS_REGION: o.s3.region,
    AWS_ACCESS_KEY_ID: S3RVER_KEY,
    AWS_SECRET_ACCESS_KEY: S3RVER_KEY,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

export interface RcloneCopyOptions {
  /** The listing server's base URL. */
  httpUrl: string;
  /** Directory on the listing server, without slashes. */
  dir: string;
  s3: S3Target;
  /** Destination prefix in the bucket, without slashes. */
  prefix: string;
  transfers: number;
  checkers: number;
}

/**
 * `rclone copy` from the listing server into s3rver. Backends are given inline (`:http:`, `:s3:`) with their
 * options as flags; `--config ""` keeps the configuration in memory. The source path ends in `/` so rclone
 * lists it as a directory without a HEAD first. Everything else is rclone's default behaviour.
 */
export function rcloneCopyArgs(o: RcloneCopyOptions): string[] {
  return [
    'copy',
    `:http:/${o.dir}/`,
    `:s3:${o.s3.bucket}/${o.prefix}/`,
    '--config',
    '',
    '--http-url',
    o.httpUrl,
    '--s3-provider',
    'Other',
    '--s3-endpoint',
    o.s3.endpoint,
    '--s3-region',
    o.s3.region,
    '--s3-force-path-style',
    '--s3-access-key-id',
    S3RVER_KEY,
    '--s3-secret-access-key',
    S3RVER_KEY,
    '--transfers',
    String(o.transfers),
    '--checkers',
    String(o.checkers),
  ];
}

/** rclone's environment: PATH, and a HOME/XDG of the bench's own, so nothing of the user's rclone set-up applies. */
export function rcloneEnv(path: string, home: string): Record<string, string> {
  return {
    PATH: path,
    HOME: home,
    XDG_CONFIG_HOME: `${home}/.config`,
    XDG_CACHE_HOME: `${home}/.cache`,
  };
}

/**
 * `rclone version` with the configuration in memory: without `--config ""` even this creates ~/.config/rclone while
 * looking for a config file, in the user's HOME.
 */
export const RCLONE_VERSION_ARGS = ['--config', '', 'version'];

/** The installed rclone's version line, or undefined when there is none on PATH. */
export function rcloneVersion(): string | undefined {
  const r = spawnSync('rclone', RCLONE_VERSION_ARGS, {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0]?.trim();
}

export function hasGnuTime(): boolean {
  const r = spawnSync(GNU_TIME, ['--version'], { encoding: 'utf8' });
  return !r.error && `${r.stdout}${r.stderr}`.includes('GNU');
}

export interface ToolRun {
  /** Spawn to exit, as this process saw it. */
  ms: number;
  /** User + system CPU of the process tree (wait4 rusage, 10 ms resolution). */
  cpuMs: number;
  userMs: number;
  sysMs: number;
  /** ru_maxrss: peak resident set of the largest process in the tree. */
  maxRssBytes: number;
  exitCode: number;
  /** The tool's stdout and stderr (it wrote them to a file, so no pipe is read while it runs). */
  output: string;
}

/** Parses GNU time's `-f '%U %S %M %x'` line (the last line of its -o file; a non-zero exit adds a line above). */
export function parseTimeLine(text: string): {
  userMs: number;
  sysMs: number;
  maxRssBytes: number;
  exitCode: number;
} {
  const line = text.trim().split('\n').at(-1) ?? '';
  const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+) (-?\d+)$/.exec(line.trim());
  if (!m) throw new Error(`cannot read GNU time's output: ${JSON.stringify(text.slice(-200))}`);
  return {
    userMs: Math.round(Number(m[1]) * 1000),
    sysMs: Math.round(Number(m[2]) * 1000),
    maxRssBytes: Number(m[3]) * 1024,
    exitCode: Number(m[4]),
  };
}

/** Runs `command args` under GNU time with exactly `env`; its output goes to `outFile`, read back after exit. */
export function runMeasured(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  outFile: string,
  cwd?: string,
): Promise<ToolRun> {
  const timeFile = `${outFile}.time`;
  const fd = openSync(outFile, 'w');
  const started = performance.now();
  const child = spawn(GNU_TIME, ['-f', '%U %S %M %x', '-o', timeFile, '--', command, ...args], {
    env,
    cwd,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => {
      const ms = performance.now() - started;
      try {
        const t = parseTimeLine(readFileSync(timeFile, 'utf8'));
        const output = readFileSync(outFile, 'utf8');
        resolve({ ms, cpuMs: t.userMs + t.sysMs, ...t, output });
      } catch (err) {
        reject(err);
      } finally {
        rmSync(timeFile, { force: true });
      }
    });
  });
}

/**
 * Lines where a tool said something went wrong (rclone logs ERROR/NOTICE by default; the CLI prints `failed …`
 * lines and JSON log lines at warn or error). A retried request shows up here even when the run ended well.
 */
export function warningsIn(tool: 'ekb' | 'rclone', output: string): string[] {
  const pattern = tool === 'rclone' ? /\b(ERROR|NOTICE|WARNING)\b/ : /^failed |"level":"(warn|error)"/;
  const lines = output.split('\n').filter((l) => pattern.test(l));
  if (lines.length === 0) return [];
  const shown = lines
    .slice(0, 2)
    .map((l) => (l.length > 160 ? `${l.slice(0, 157)}…` : l).replace(/\|/g, '/'));
  return [`${lines.length} line(s)`, ...shown];
}
