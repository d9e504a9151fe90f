// `npm start`: the Node version check first (before anything that an old Node would choke on loads), then the
// local stack as JavaScript built once by `npm ci` (dist/local/start.mjs, from start.ts; infra/build-local.mjs).
// start.ts may start this file again with --openssl-legacy-provider (see there): the check then runs twice, cheaply.
import { exitIfUnsupportedNode } from './node-version.mjs';

exitIfUnsupportedNode('npm start');

import(new URL('../../dist/local/start.mjs', import.meta.url).href).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/local/start.mjs')) {
    process.stderr.write(
      'npm start: the local stack is not built; run `npm ci` (or `npm run build`) in the project folder first\n',
    );
    process.exitCode = 2;
    return;
  }
  throw err;
});
