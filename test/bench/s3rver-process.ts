/**
 * s3rver in a process of its own, so neither its memory nor its CPU is counted against the copier being measured.
 * Prints one `@@S3 {"endpoint",...}` line once listening; exits when its stdin closes (the parent ended) or on
 * SIGTERM. Usage: node --import tsx test/bench/s3rver-process.ts <directory> <bucket>
 *
 * It also counts the requests it serves by S3 operation (from node's http diagnostics channel, no proxy in the
 * way): the line `counts` on stdin answers `@@COUNTS {json}` on stdout and starts a new tally, so the bench can
 * show what each copier asked of S3 in one run.
 */
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { startEmbeddedS3 } from '../../infra/local/embedded-s3.js';
import { s3OperationOf } from './s3-operations.js';

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) {
  process.stderr.write('usage: s3rver-process.ts <directory> <bucket>\n');
  process.exit(2);
}

let counts: Record<string, number> = {};
diagnostics.subscribe('http.server.request.start', (message) => {
  const req = (message as { request: IncomingMessage }).request;
  const op = s3OperationOf(req.method ?? '', req.url ?? '/');
  counts[op] = (counts[op] ?? 0) + 1;
});

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
let pending = '';
process.stdin.on('data', (chunk: Buffer) => {
  pending += chunk.toString('utf8');
  let nl = pending.indexOf('\n');
  while (nl >= 0) {
    const line = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    if (line === 'counts') {
      process.stdout.write(`@@COUNTS ${JSON.stringify(counts)}\n`);
      counts = {};
    }
    nl = pending.indexOf('\n');
  }
});
