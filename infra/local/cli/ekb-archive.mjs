#!/usr/bin/env node
// The `ekb-archive` bin. First the Node version check (before anything that an old Node would choke on loads),
// then the CLI as JavaScript built once by `npm ci` (dist/local/, infra/build-local.mjs): no TypeScript is
// compiled at run time. `--version` is answered here, without loading the CLI at all.
import { readFileSync } from 'node:fs';
import { exitIfUnsupportedNode } from '../node-version.mjs';

exitIfUnsupportedNode('ekb-archive');

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`ekb-archive ${pkg.version}\n`);
} else {
  const bundle = new URL('../../../dist/local/cli.mjs', import.meta.url);
  import(bundle.href).then(
    (cli) => cli.runAsProcess(args),
    (err) => {
      if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/local/cli.mjs')) {
        process.stderr.write(
          'ekb-archive: the CLI is not built; run `npm ci` (or `npm run build`) in the project folder first\n',
        );
        process.exitCode = 2;
        return;
      }
      throw err;
    },
  );
}
