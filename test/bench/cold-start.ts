/**
 * Section 5: each function built exactly as the stack builds it (infra/bundling.ts), its size, and how long a fresh
 * Node process takes to import it, beside an empty handler module imported the same way.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import {
  BUNDLE,
  entryPath,
  esbuildOptions,
  FUNCTION_ENTRIES,
  type FunctionName,
  NODE_OPTIONS,
} from '../../infra/bundling.js';
import { type ImportTiming, timeImport } from './processes.js';
import { median } from './stats.js';

export interface BuiltBundle {
  name: string;
  file: string;
  bytes: number;
  gzipBytes: number;
  mapBytes: number;
}

/** Builds every function whose entry exists (some may not be written yet) into `dir`. */
export async function buildFunctionBundles(dir: string): Promise<BuiltBundle[]> {
  const out: BuiltBundle[] = [];
  for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) {
    if (!existsSync(entryPath(name))) continue;
    const file = join(dir, `${name}${BUNDLE.outExtension}`);
    await build(esbuildOptions(entryPath(name), file));
    const text = await readFile(file);
    out.push({
      name,
      file,
      bytes: text.byteLength,
      gzipBytes: gzipSync(text).byteLength,
      mapBytes: existsSync(`${file}.map`) ? statSync(`${file}.map`).size : 0,
    });
  }
  return out;
}

/** The smallest handler Lambda could load: the floor every bundle is compared with. */
export function writeEmptyHandler(dir: string): BuiltBundle {
  const file = join(dir, `empty${BUNDLE.outExtension}`);
  const text = 'export const handler = async () => ({ statusCode: 200 });\n';
  writeFileSync(file, text);
  return {
    name: 'empty handler',
    file,
    bytes: text.length,
    gzipBytes: gzipSync(text).byteLength,
    mapBytes: 0,
  };
}

/** Imports one module and reports the time spent in import() (node's own boot is not counted there). */
export function writeImportLoader(dir: string): string {
  const file = join(dir, 'import-loader.mjs');
  writeFileSync(
    file,
    [
      "import { pathToFileURL } from 'node:url';",
      'const t0 = performance.now();',
      'const m = await import(pathToFileURL(process.argv[2]).href);',
      'const importMs = performance.now() - t0;',
      "if (typeof m.handler !== 'function') { process.stderr.write('no handler export'); process.exit(2); }",
      'process.stdout.write(JSON.stringify({ importMs }));',
      '',
    ].join('\n'),
  );
  return file;
}

export interface LoadTimes {
  name: string;
  plain: { importMs: number; wallMs: number };
  /** With the flags the functions run with in Lambda (NODE_OPTIONS from infra/bundling.ts). */
  lambdaFlags: { importMs: number; wallMs: number };
}

/** Median of `runs` fresh processes per module and flag set; modules interleaved so drift hits all alike. */
export async function measureLoadTimes(
  loader: string,
  modules: readonly BuiltBundle[],
  runs: number,
): Promise<LoadTimes[]> {
  const flagSets = { plain: [] as string[], lambdaFlags: NODE_OPTIONS.split(' ').filter(Boolean) };
  const samples = new Map<string, Record<keyof typeof flagSets, ImportTiming[]>>();
  for (const m of modules) samples.set(m.name, { plain: [], lambdaFlags: [] });
  for (let i = 0; i < runs; i++) {
    for (const m of modules) {
      for (const [key, flags] of Object.entries(flagSets) as Array<[keyof typeof flagSets, string[]]>) {
        samples.get(m.name)?.[key].push(await timeImport(loader, m.file, flags));
      }
    }
  }
  const med = (xs: ImportTiming[]) => ({
    importMs: median(xs.map((x) => x.importMs)),
    wallMs: median(xs.map((x) => x.wallMs)),
  });
  return modules.map((m) => {
    const s = samples.get(m.name) as Record<keyof typeof flagSets, ImportTiming[]>;
    return { name: m.name, plain: med(s.plain), lambdaFlags: med(s.lambdaFlags) };
  });
}
