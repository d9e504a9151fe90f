// Builds what the CLI (`ekb-archive`) and `npm start` run: one esbuild pass over their TypeScript entries into
// dist/local/, so neither compiles TypeScript at run time. `npm ci` runs it (the `prepare` script); tests run it
// once before the integration project (test/global-setup.ts), so they never run a stale build.
//
// Usage: node infra/build-local.mjs            (or: npm run build)
//
// Plain JavaScript: it runs during `npm ci`, before anything could compile TypeScript for it.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Two folders below the root, like the sources (infra/local/): see `checkImportMetaDepth`. */
export const OUT_DIR = join(PROJECT_ROOT, 'dist', 'local');
export const ENTRIES = {
  cli: 'infra/local/cli/main.ts',
  start: 'infra/local/start.ts',
};

// CommonJS inside an ESM bundle (undici, parts of the AWS SDK) calls require() for Node's own modules: the Lambda
// bundles' banner (infra/bundling.ts), with a name of its own so it cannot clash with a bundled module's import of
// createRequire (esbuild does not see inside the banner to rename around it).
const BANNER =
  "import { createRequire as __ekbCreateRequire } from 'node:module'; const require = __ekbCreateRequire(import.meta.url);";

/**
 * A bundled module keeps its own `import.meta.url`: the output file's. Code that finds files relative to itself
 * (local-options.ts: `new URL('../..', import.meta.url)` is the project root) works only when the output sits as
 * deep below the root as its source. Fail the build, not the user's run, when that stops being true.
 */
async function checkImportMetaDepth(metafile) {
  const outDepth = relative(PROJECT_ROOT, OUT_DIR).split(sep).length;
  const problems = [];
  for (const input of Object.keys(metafile.inputs)) {
    if (input.startsWith('node_modules/') || input.includes(':')) continue;
    const text = await readFile(join(PROJECT_ROOT, input), 'utf8');
    if (!text.includes('import.meta.url')) continue;
    const depth = dirname(input).split('/').length;
    if (depth !== outDepth) problems.push(`${input} (depth ${depth}, output depth ${outDepth})`);
  }
  if (problems.length > 0) {
    throw new Error(
      `these bundled sources use import.meta.url from another folder depth than ${relative(PROJECT_ROOT, OUT_DIR)}: ${problems.join(', ')}`,
    );
  }
}

/** Moves the finished build to OUT_DIR; another build swapping at the same moment only means another try. */
async function swapIn(staging) {
  for (let attempt = 1; ; attempt += 1) {
    const old = join(PROJECT_ROOT, 'dist', `.old-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(OUT_DIR, old).catch((err) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await rename(staging, OUT_DIR);
      await rm(old, { recursive: true, force: true });
      return;
    } catch (err) {
      await rm(old, { recursive: true, force: true });
      if (attempt >= 5 || !['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(err.code)) throw err;
    }
  }
}

/** Builds into a fresh folder, then swaps it in: a process starting meanwhile never sees half a build. */
export async function buildLocal() {
  const { build } = await import('esbuild');
  const started = Date.now();
  const staging = join(PROJECT_ROOT, 'dist', `.local-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  try {
    const result = await build({
      absWorkingDir: PROJECT_ROOT,
      entryPoints: ENTRIES,
      outdir: staging,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      // Commands load what they need only when they run.
      splitting: true,
      chunkNames: '[name]-[hash]',
      outExtension: { '.js': '.mjs' },
      sourcemap: 'linked',
      // s3rver is CommonJS with files of its own (loaded through createRequire, from node_modules).
      external: ['s3rver', 's3rver/*'],
      banner: { js: BANNER },
      metafile: true,
      logLevel: 'warning',
    });
    await checkImportMetaDepth(result.metafile);
    await swapIn(staging);
    const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.mjs'));
    const bytes = files.reduce((sum, f) => sum + result.metafile.outputs[f].bytes, 0);
    return { outDir: OUT_DIR, files: files.length, bytes, ms: Date.now() - started };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let esbuildMissing = false;
  try {
    await import('esbuild');
  } catch {
    esbuildMissing = true;
  }
  if (esbuildMissing) {
    // `npm ci --omit=dev`: the functions' dependencies only. Say so instead of failing the install.
    process.stderr.write(
      'build-local: esbuild is not installed (dev dependencies omitted?); the CLI and `npm start` need `npm ci` with dev dependencies\n',
    );
  } else {
    const out = await buildLocal();
    process.stdout.write(
      `build-local: ${relative(PROJECT_ROOT, out.outDir)} (${out.files} files, ${Math.round(out.bytes / 1024)} KiB) in ${out.ms} ms\n`,
    );
  }
}
