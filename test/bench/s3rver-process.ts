/**
 * s3rver in a process of its own, so neither its memory nor its CPU is counted against the copier being measured.
 * Prints one `@@S3 {"endpoint",...}` line once listening; exits when its stdin closes (the parent ended) or on
 * SIGTERM. Usage: node --import tsx test/bench/s3rver-process.ts <directory> <bucket>
 */
import { startEmbeddedS3 } from '../../infra/local/embedded-s3.js';

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) {
  process.stderr.write('usage: s3rver-process.ts <directory> <bucket>\n');
  process.exit(2);
}

const s3 = await startEmbeddedS3({ directory, bucket });
process.stdout.write(`@@S3 ${JSON.stringify({ endpoint: s3.endpoint, directory, bucket })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void s3.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
