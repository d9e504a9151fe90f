/**
 * The two entry points a user types, run as child processes: `ekb-archive` (the bin) and `npm start`
 * (infra/local/npm-start.mjs). They check the Node version before anything else loads, and run the JavaScript
 * built by `npm ci` (dist/local/; the integration project's global setup builds it from the current sources).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_NODE_VERSION } from '../../../infra/local/node-version.mjs';
import { BIN, cleanEnv, PROJECT_ROOT, runCli } from './run-cli.js';

const START = join(PROJECT_ROOT, 'infra/local/npm-start.mjs');
/** Makes this Node report an old version before any of our code runs. */
const AS_NODE_20 = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"})';

/** Every Node this machine has that is older than the minimum (Debian's /usr/bin/node is 20), for a real run. */
function oldNodes(): Array<{ node: string; version: string }> {
  const found: Array<{ node: string; version: string }> = [];
  for (const node of ['/usr/bin/node']) {
    const run = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    if (run.status !== 0) continue;
    const version = run.stdout.trim();
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 13)) found.push({ node, version });
  }
  return found;
}

const cases: Array<{ how: string; node: string; preload: string[]; version: string }> = [
  {
    how: 'this Node made to report 20.20.2',
    node: process.execPath,
    preload: ['--import', AS_NODE_20],
    version: '20.20.2',
  },
  ...oldNodes().map(({ node, version }) => ({
    how: `a real Node ${version} (${node})`,
    node,
    preload: [],
    version,
  })),
];

describe('the launchers on an unsupported Node', () => {
  it.each(cases)(
    'print one line naming the minimum and exit 2, before loading anything else ($how)',
    ({ node, preload, version }) => {
      for (const [script, program] of [
        [BIN, 'ekb-archive'],
        [START, 'npm start'],
      ] as const) {
        const run = spawnSync(node, [...preload, script, 'copy', '--manifest', 'x.jsonl'], {
          cwd: PROJECT_ROOT,
          env: cleanEnv(),
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect(run.status).toBe(2);
        expect(run.stdout).toBe('');
        expect(run.stderr).toBe(
          `${program}: needs Node.js ${MIN_NODE_VERSION} or later (Node 24 recommended), but this is Node.js ${version}; install Node 24 (https://nodejs.org, or \`nvm install 24\`) and run it again\n`,
        );
      }
    },
  );
});

describe('ekb-archive without a build', () => {
  let dir: string;
  beforeAll(async () => {
    // A copy of the launcher in a checkout where `npm ci` never built dist/.
    dir = await mkdtemp(join(tmpdir(), 'ekb-unbuilt-'));
    await mkdir(join(dir, 'infra/local/cli'), { recursive: true });
    await copyFile(BIN, join(dir, 'infra/local/cli/ekb-archive.mjs'));
    await copyFile(
      join(PROJECT_ROOT, 'infra/local/node-version.mjs'),
      join(dir, 'infra/local/node-version.mjs'),
    );
    await copyFile(join(PROJECT_ROOT, 'package.json'), join(dir, 'package.json'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says to run npm ci instead of a module-not-found stack', () => {
    const run = spawnSync(process.execPath, [join(dir, 'infra/local/cli/ekb-archive.mjs'), '--help'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      'ekb-archive: the CLI is not built; run `npm ci` (or `npm run build`) in the project folder first\n',
    );
  });

  it('answers --version without loading the CLI', async () => {
    const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = spawnSync(process.execPath, [join(dir, 'infra/local/cli/ekb-archive.mjs'), '--version'], {
      encoding: 'utf8',
    });
    expect(run).toMatchObject({ status: 0, stdout: `ekb-archive ${pkg.version}\n`, stderr: '' });
  });
});

describe('ekb-archive from the build', () => {
  it("runs the built CLI: the version matches the CLI's own, and commands answer", async () => {
    const version = await runCli(['--version']);
    expect(version).toMatchObject({ code: 0, stderr: '' });
    const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout).toBe(`ekb-archive ${pkg.version}\n`);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ekb-archive: archive 合思/);
    // The bundle answers through the same main() the tests import: `-v` with another argument is not the fast path.
    const viaMain = await runCli(['--version', '--json']);
    expect(viaMain.stdout).toBe(`ekb-archive ${pkg.version}\n`);
  });
});

describe('ekb-archive start-up', () => {
  const RECORDER = join(PROJECT_ROOT, 'test/fixtures/record-loaded-files.mjs');
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ekb-startup-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The libraries whose code was loaded by one run of the bin (the bundle keeps each module's source path). */
  function librariesLoadedBy(args: string[], env: Record<string, string> = {}): string[] {
    const record = join(dir, `loaded-${args.join('-').replace(/\W+/g, '_')}.txt`);
    const run = spawnSync(process.execPath, ['--import', RECORDER, BIN, ...args], {
      cwd: PROJECT_ROOT,
      env: cleanEnv({ ...env, RECORD_LOADED_FILES: record }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.error).toBeUndefined();
    const files = readFileSync(record, 'utf8').split('\n').filter(Boolean);
    const text = files.map((url) => readFileSync(fileURLToPath(url), 'utf8')).join('\n');
    return ['@aws-sdk/client-s3', '@aws-sdk/client-secrets-manager', 'undici'].filter((lib) =>
      text.includes(`node_modules/${lib}/`),
    );
  }

  it("answers --help and a command's --help without loading the AWS SDK or undici; a command that uses S3 loads them", () => {
    expect(librariesLoadedBy(['--help'])).toEqual([]);
    expect(librariesLoadedBy(['copy', '--help'])).toEqual([]);
    expect(librariesLoadedBy(['--version', '--json'])).toEqual([]);
    // The same recorder sees the SDK when a command needs it (an S3 endpoint nothing answers at: exit 3).
    expect(
      librariesLoadedBy(['job', 'some-job', '--bucket', 'b'], {
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'k',
        AWS_SECRET_ACCESS_KEY: 's',
      }),
    ).toContain('@aws-sdk/client-s3');
  });
});
