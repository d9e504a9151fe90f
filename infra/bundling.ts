/**
 * The one set of bundling constants. The CDK stack (NodejsFunction) and the bundle smoke test
 * (test/infra/bundle-smoke.test.ts, plain esbuild) both derive their options from BUNDLE, so what the smoke test
 * imports and runs is built the way Lambda will run it.
 */
import { fileURLToPath } from 'node:url';
import {
  type BundlingOptions,
  Charset,
  LogLevel,
  OutputFormat,
  SourceMapMode,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** Repository root: esbuild resolves node_modules and tsconfig.json from here. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const LOCK_FILE = fileURLToPath(new URL('../package-lock.json', import.meta.url));

export type FunctionName = 'resolve' | 'jobs-api' | 'fan-out' | 'copy' | 'verify';

/** Entry files, relative to the repository root; each exports `handler`. */
export const FUNCTION_ENTRIES: Readonly<Record<FunctionName, string>> = {
  resolve: 'functions/resolve/handler.ts',
  'jobs-api': 'functions/jobs-api/handler.ts',
  'fan-out': 'functions/fan-out/handler.ts',
  copy: 'functions/copy/handler.ts',
  verify: 'functions/verify/handler.ts',
};

export const entryPath = (name: FunctionName): string =>
  fileURLToPath(new URL(`../${FUNCTION_ENTRIES[name]}`, import.meta.url));

export const BUNDLE = {
  // ESM like the source ("type": "module"); the @aws-sdk ESM builds also tree-shake better than their CJS twins.
  format: 'esm',
  platform: 'node',
  // Lambda nodejs24.x runs Node 24: no down-levelling needed.
  target: 'node24',
  // Prefer the packages' ESM entry points (smaller, tree-shakable); fall back to CJS `main`.
  mainFields: ['module', 'main'],
  // undici (and parts of the SDK) are CommonJS inside and call require() for Node built-ins; an ESM bundle has no
  // `require`, so give it one.
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  // Linked .map files: stack traces map back to TypeScript with NODE_OPTIONS=--enable-source-maps. The sources'
  // text is left out of the map (stack traces need only the mappings), which keeps each asset small.
  sourcemap: true,
  sourcesContent: false,
  minify: true,
  // AppError sets `this.name = new.target.name`; minified class names would turn error names into gibberish.
  keepNames: true,
  // Log lines and messages carry Chinese text (合思 form fields); keep it readable instead of \u-escaped.
  charset: 'utf8',
  // Nothing external. The nodejs24.x runtime ships an @aws-sdk v3, but its version moves under us with runtime
  // patches; bundling the pinned version from package-lock.json makes what we test what runs (and the
  // tree-shaken clients cost ~1 MB, not a cold-start concern at these memory sizes).
  externalModules: [] as string[],
  /** Bundles are ES modules; Lambda needs the .mjs extension to load them as such without a package.json. */
  outExtension: '.mjs',
} as const;

/** NodejsFunction bundling options from BUNDLE. Local esbuild only: there is no Docker here or in CI. */
export function cdkBundlingOptions(): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    target: BUNDLE.target,
    mainFields: [...BUNDLE.mainFields],
    banner: BUNDLE.banner,
    sourceMap: BUNDLE.sourcemap,
    sourceMapMode: SourceMapMode.DEFAULT,
    sourcesContent: BUNDLE.sourcesContent,
    minify: BUNDLE.minify,
    keepNames: BUNDLE.keepNames,
    charset: Charset.UTF8,
    externalModules: [...BUNDLE.externalModules],
    bundleAwsSDK: true,
    forceDockerBundling: false,
    logLevel: LogLevel.ERROR,
  };
}

/** Plain esbuild options from BUNDLE (used by the bundle smoke test; CDK builds the same command line). */
export function esbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: BUNDLE.format,
    platform: BUNDLE.platform,
    target: BUNDLE.target,
    mainFields: [...BUNDLE.mainFields],
    banner: { js: BUNDLE.banner },
    sourcemap: BUNDLE.sourcemap,
    sourcesContent: BUNDLE.sourcesContent,
    minify: BUNDLE.minify,
    keepNames: BUNDLE.keepNames,
    charset: BUNDLE.charset,
    external: [...BUNDLE.externalModules],
    absWorkingDir: PROJECT_ROOT,
    logLevel: 'error',
  };
}

/** Runtime flags every function gets: source-mapped stack traces. */
export const NODE_OPTIONS = '--enable-source-maps';
