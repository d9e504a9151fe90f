/**
 * Process plumbing for the bench: the s3rver process, the bundled child that runs one measured case, and the fresh
 * `node` processes that time a bundle's import.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildTask } from './child.js';

const S3RVER_SCRIPT = fileURLToPath(new URL('./s3rver-process.ts', import.meta.url));

export interface S3Process {
  pid: number;
  endpoint: string;
  directory: string;
  bucket: string;
  /** Requests served since the last call, by S3 operation (see s3-operations.ts); the tally restarts. */
  takeCounts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Starts s3rver in its own process (through tsx; its memory is not measured). */
export function startS3Process(directory: string, bucket: string): Promise<S3Process> {
  // s3rver's continuation tokens use DES, which Node's OpenSSL 3 refuses without the legacy provider: without it
  // every truncated listing answers 500 (the copy engine then HEADs each key), which real S3 never does.
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '--import', 'tsx', S3RVER_SCRIPT, directory, bucket],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const countWaiters: Array<(counts: Record<string, number>) => void> = [];
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      let nl = out.indexOf('\n');
      while (nl >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        nl = out.indexOf('\n');
        if (line.startsWith('@@COUNTS ')) {
          countWaiters.shift()?.(JSON.parse(line.slice(9)) as Record<string, number>);
        } else if (line.startsWith('@@S3 ')) {
          const info = JSON.parse(line.slice(5)) as { endpoint: string };
          resolve({
            pid: child.pid as number,
            endpoint: info.endpoint,
            directory,
            bucket,
            takeCounts: () =>
              new Promise((done) => {
                countWaiters.push(done);
                child.stdin?.write('counts\n');
              }),
            stop: () => stopProcess(child),
          });
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`s3rver process exited early (${code})`)));
    child.once('error', reject);
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.stdin?.end();
    const kill = setTimeout(() => child.kill('SIGTERM'), 5_000);
    kill.unref();
  });
}

/** Runs one task in a fresh process from the bundled child; resolves with its `@@RESULT` payload. */
export function runChild<T>(childBundle: string, task: ChildTask, nodeFlags: string[] = []): Promise<T> {
  const child = spawn(process.execPath, [...nodeFlags, childBundle, JSON.stringify(task)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith('@@RESULT '));
      try {
        if (code === 0 && line) resolve(JSON.parse(line.slice(9)) as T);
        else throw new Error(`exit ${code ?? signal}: ${err.slice(-2_000)}`);
      } catch (e) {
        reject(new Error(`bench child ${task.kind} failed: ${(e as Error).message}`));
      }
    });
  });
}

export interface ImportTiming {
  /** ms spent in `await import(bundle)` inside the process. */
  importMs: number;
  /** ms from spawn to exit, seen by the parent (node boot + import + exit). */
  wallMs: number;
}

/** Imports `moduleFile` in a fresh node process through `loaderFile` (see cold-start.ts). */
export function timeImport(
  loaderFile: string,
  moduleFile: string,
  nodeFlags: string[],
): Promise<ImportTiming> {
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, loaderFile, moduleFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) {
        reject(new Error(`import of ${moduleFile} failed (${code}): ${err.slice(-1_000)}`));
        return;
      }
      const { importMs } = JSON.parse(out.trim()) as { importMs: number };
      resolve({ importMs, wallMs });
    });
  });
}

/** CPU time (user + system, ms) another process has used so far, from /proc (Linux); NaN elsewhere. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')': utime is the 12th, stime 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on every mainstream Linux build. */
const CLOCK_TICKS = 100;
