/** Runs the `ekb-archive` bin as a child process, the way a user does, and collects what it prints. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const BIN = fileURLToPath(new URL('../../../infra/local/cli/ekb-archive.mjs', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A clean environment: no EKB_* or AWS_* keys leak in from the machine running the tests. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(EKB_|AWS_|LOG_LEVEL$|NODE_OPTIONS$|VITEST|TINYPOOL)/.test(k)) continue;
    env[k] = v;
  }
  // The SDK must never find real credentials or config files on the test machine.
  env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
  env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
  env.AWS_EC2_METADATA_DISABLED = 'true';
  return { ...env, ...extra };
}

/**
 * Runs a command in the project folder until it exits, with stdin given (or closed) and stdout and stderr captured;
 * killed (SIGKILL) after `timeoutMs`.
 */
export function runCaptured(
  command: string,
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    stdin?: string;
    onSpawn?: (pid: number) => void;
    timeoutMs?: number;
  } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: PROJECT_ROOT,
      env: options.env ?? cleanEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    child.stdin.end(options.stdin ?? '');
  });
}

/** The CLI's bin (as `npx ekb-archive` runs it), with the same options as runCaptured. */
export function runCli(args: string[], options: Parameters<typeof runCaptured>[2] = {}): Promise<CliRun> {
  return runCaptured(process.execPath, [BIN, ...args], options);
}

/** The JSON lines of an output (other lines ignored). */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
