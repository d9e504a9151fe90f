/**
 * Builds dist/local/ (infra/build-local.mjs) once before the integration tests, so the tests that run the CLI and
 * `npm start` as a user does run what the current sources build, never a stale build from an earlier `npm ci`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function setup(): void {
  execFileSync(process.execPath, ['infra/build-local.mjs'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
