/**
 * Runs the 合思 sandbox on its own: `npx tsx infra/local/sandbox/main.ts [--port 8790] [--host 127.0.0.1]`.
 * Prints the base URL and the demo credentials; Ctrl-C (or SIGTERM) closes it cleanly.
 */
import { parseArgs } from 'node:util';
import { demoForms } from './demo-data.js';
import { startEkuaibaoSandbox } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port must be an integer 0..65535, got ${values.port}\n`);
  process.exit(2);
}

const sandbox = await startEkuaibaoSandbox({ host: values.host, port });
process.stdout.write(
  [
    '合思 sandbox is listening',
    `  EKB_BASE_URL=${sandbox.baseUrl}`,
    `  EKB_APP_KEY=${sandbox.appKey}`,
    `  EKB_APP_SECURITY=${sandbox.appSecurity}`,
    `  demo forms: ${demoForms()
      .map((f) => f.code)
      .join(', ')}`,
    'Ctrl-C to stop.',
    '',
  ].join('\n'),
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: closing the sandbox\n`);
  sandbox.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`close failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
