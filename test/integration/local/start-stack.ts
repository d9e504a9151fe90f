/** Starts `npm start`'s entry as a child process the way a user does, and reads what it prints. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { S3Client } from '@aws-sdk/client-s3';
import { cleanEnv, PROJECT_ROOT } from './run-cli.js';

export interface RunningStack {
  proc: ChildProcess;
  apiUrl: string;
  /** The embedded S3's endpoint; undefined when the stack uses a real bucket (EKB_BUCKET). */
  s3Endpoint: string | undefined;
  bucket: string;
  output(): string;
  /** Pids of every process below the launcher (the relaunched child, if any). */
  descendants(): number[];
  /** Resolves with the exit code (or signal) once the launcher is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** `kill -9` of the stack's whole process group (started with `group: true`); resolves once it is gone. */
  killGroup(): Promise<void>;
}

/** An S3 client for the stack's embedded store (s3rver's fixed credentials; no checksums it cannot check). */
export function s3For(stack: RunningStack): S3Client {
  return new S3Client({
    endpoint: stack.s3Endpoint as string,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function descendantsOf(pid: number): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const children = out
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
  return children.flatMap((c) => [c, ...descendantsOf(c)]);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `node infra/local/npm-start.mjs` (what `npm start` runs: the build in dist/local/, made by the integration
 * project's global setup), ports 0, its data in `dataDir`. Resolves once the banner shows the API and S3 lines.
 */
export async function startStack(
  dataDir: string,
  extraEnv: Record<string, string> = {},
  args: string[] = ['--no-demo'],
  options: { group?: boolean } = {},
): Promise<RunningStack> {
  const proc = spawn(process.execPath, ['infra/local/npm-start.mjs', ...args], {
    cwd: PROJECT_ROOT,
    env: cleanEnv({
      EKB_LOCAL_API_PORT: '0',
      EKB_LOCAL_S3_PORT: '0',
      EKB_LOCAL_DATA_DIR: dataDir,
      ...extraEnv,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a test can kill the launcher and everything below it at once, as `kill -9 -PGID`.
    detached: options.group === true,
  });
  let text = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    text += d;
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    text += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const api = /^\s+API\s+(http:\/\/\S+)/m.exec(text);
    const embedded = /^\s+S3\s+(http:\/\/\S+)\s+bucket\s+(\S+)/m.exec(text);
    const real = /^\s+S3\s+s3:\/\/(\S+)/m.exec(text);
    if (api && (embedded || real)) {
      return {
        proc,
        apiUrl: api[1] as string,
        s3Endpoint: embedded?.[1],
        bucket: (embedded?.[2] ?? real?.[1]) as string,
        output: () => text,
        descendants: () => descendantsOf(proc.pid as number),
        exited,
        async killGroup() {
          const below = descendantsOf(proc.pid as number);
          process.kill(-(proc.pid as number), 'SIGKILL');
          await exited;
          for (const deadline = Date.now() + 5_000; below.some(isAlive) && Date.now() < deadline; ) {
            await new Promise((r) => setTimeout(r, 20));
          }
        },
      };
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`the local stack did not start:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
