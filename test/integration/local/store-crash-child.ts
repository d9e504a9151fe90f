/**
 * The embedded S3 in a process of its own, for tests that `kill -9` it (embedded-s3-crash.test.ts). Prints one
 * JSON line (endpoint and what the start recovered), then serves until killed or sent SIGTERM.
 *
 * Usage: node --import tsx store-crash-child.ts <directory> <bucket>
 */
import { startEmbeddedS3 } from '../../../infra/local/embedded-s3.js';

const [directory, bucket] = process.argv.slice(2) as [string, string];
try {
  const store = await startEmbeddedS3({ directory, bucket });
  process.stdout.write(`${JSON.stringify({ endpoint: store.endpoint, recovery: store.recovery })}\n`);
  process.on('SIGTERM', () => void store.close().then(() => process.exit(0)));
} catch (err) {
  const e = err as Error & { code?: string };
  process.stdout.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
  process.exit(3);
}
