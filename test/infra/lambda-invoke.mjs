/**
 * Runs one bundled handler the way the Lambda Node runtime does: a plain `node` process (no test runner, no
 * loader hooks) imports the `.mjs` file natively and calls `handler(event, context)` once.
 *
 * Usage: node lambda-invoke.mjs <bundle.mjs> <result.json>, with {"event", "remainingMs", "name"} on stdin.
 * The result (or the error's name and message) goes to <result.json>; stdout/stderr stay the function's logs.
 * Plain JavaScript on purpose: vitest would transform a TypeScript driver, and its module runner defines a
 * `require` that a real ESM bundle does not have, which would hide a missing createRequire banner.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, resultFile] = process.argv.slice(2);
let input = '';
for await (const chunk of process.stdin) input += chunk;
const { event, remainingMs, name } = JSON.parse(input);

const deadline = Date.now() + remainingMs;
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: `ekb-archive-${name}`,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:ap-east-1:123456789012:function:ekb-archive-${name}`,
  memoryLimitInMB: '1769',
  awsRequestId: `smoke-${name}-0001`,
  logGroupName: `/aws/lambda/ekb-archive-${name}`,
  logStreamName: '2025/06/23/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

let outcome;
try {
  const mod = await import(pathToFileURL(bundle).href);
  if (typeof mod.handler !== 'function') throw new TypeError(`${bundle} does not export a handler function`);
  outcome = { ok: true, result: await mod.handler(event, context) };
} catch (err) {
  outcome = { ok: false, error: { name: err?.name, message: err?.message, stack: err?.stack } };
}
writeFileSync(resultFile, JSON.stringify(outcome));
// Lambda freezes the process after the answer; here, pooled keep-alive sockets would hold it open.
process.exit(0);
