/**
 * Runs the 合思 sandbox on its own:
 *   npx tsx infra/local/sandbox/main.ts [--port 8790] [--host 127.0.0.1] [--outbound-url http://…]
 * Prints the base URL and the demo credentials; Ctrl-C (or SIGTERM) closes it cleanly. With --outbound-url, form
 * events played over the control routes (POST /_sandbox/forms/<id>/<action>) are pushed there as outbound
 * messages.
 */
import { parseArgs } from 'node:util';
import { demoForms } from './demo-data.js';
import { startEkuaibaoSandbox } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'outbound-url': { type: 'string' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port must be an integer 0..65535, got ${values.port}\n`);
  process.exit(2);
}

const outboundUrl = values['outbound-url'];
let sandbox: Awaited<ReturnType<typeof startEkuaibaoSandbox>>;
try {
  sandbox = await startEkuaibaoSandbox({
    host: values.host,
    port,
    ...(outboundUrl ? { outbound: { url: outboundUrl } } : {}),
  });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
process.stdout.write(
  [
    '合思 sandbox is listening',
    `  EKB_BASE_URL=${sandbox.baseUrl}`,
    `  EKB_APP_KEY=${sandbox.appKey}`,
    `  EKB_APP_SECURITY=${sandbox.appSecurity}`,
    `  demo forms: ${demoForms()
      .map((f) => f.code)
      .join(', ')}`,
    `  form events: POST ${sandbox.baseUrl}/_sandbox/forms/<flowId>/<submit|approve|pay|reject|withdraw|comment|delete|change>`,
    `  outbound:    ${outboundUrl ? 'on (POST /_sandbox/outbound to change it)' : `off (POST ${sandbox.baseUrl}/_sandbox/outbound {"url": …})`}`,
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
