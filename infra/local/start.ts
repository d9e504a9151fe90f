/**
 * `npm start`: the whole system on this machine (see local-main.ts). Flags: `--once` exits after the demo job,
 * `--no-demo` / `--demo` turn the demo run off or on.
 *
 * The embedded S3 (s3rver) signs its listing continuation tokens with DES, which OpenSSL 3 (Node ≥ 17) only
 * offers with the legacy provider; without it any listing past 1,000 keys fails. Node cannot load the provider
 * at run time, so when it is missing this process starts itself again with `--openssl-legacy-provider` and
 * stays as a thin parent: it forwards signals and exits with the child's code. The child watches the IPC channel
 * so it also stops if this parent dies.
 */
import { spawn } from 'node:child_process';
import { createCipheriv } from 'node:crypto';

function hasLegacyProvider(): boolean {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return true;
  } catch {
    return false;
  }
}

async function relaunch(): Promise<never> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, '--openssl-legacy-provider', ...process.argv.slice(1)],
    { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...process.env, EKB_LOCAL_CHILD: '1' } },
  );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // A terminal's Ctrl-C reaches both processes; the child ignores the echo (see local-main.ts).
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  const code = await new Promise<number>((resolve) => {
    child.on('exit', (exitCode, signal) => {
      resolve(exitCode ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1));
    });
    child.on('error', (err) => {
      process.stderr.write(`could not start the local stack: ${err.message}\n`);
      resolve(1);
    });
  });
  process.exit(code);
}

if (!hasLegacyProvider() && process.env.EKB_LOCAL_CHILD !== '1') {
  await relaunch();
} else {
  const { runLocal } = await import('./local-main.js');
  (await import('../../functions/young-generation.js')).tuneYoungGeneration();
  const code = await runLocal(process.argv.slice(2));
  process.exitCode = code;
  // Everything was closed; an invocation told to stop that is still winding down must not keep the process up.
  setTimeout(() => process.exit(code), 1_000).unref();
}
