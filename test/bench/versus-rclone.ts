/**
 * Section 6: the CLI against rclone, the tool a user would pick instead (issue 17). Both copy the same generated
 * files from the same origin process into the same s3rver, one run after the other (ekb, rclone, ekb, rclone, …),
 * each run into a fresh prefix so neither skips anything. Per pair: throughput ratio, CPU-seconds of each tool's
 * process tree, peak RSS; medians over the pairs; the targets beside them with PASS/MISS; what each tool asked of
 * the origin, the vendor API and S3; and what the CPU time would cost as Lambda duration.
 *
 * Origin: the CLI resolves each batch through the sandbox's vendor API and downloads the signed URLs the sandbox
 * hands out; rclone reads the same bodies from listing-server.ts (HTML directory listings, as its http backend
 * expects). Both servers live in the bench's main process and share the body generator and writer.
 */
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EkuaibaoSandbox, SandboxFile } from '../../infra/local/sandbox/types.js';
import { type LargeSize, largeFile, refOf, setFiles } from './inputs.js';
import { type ListingCounts, startListingServer } from './listing-server.js';
import { processCpuMs, type S3Process } from './processes.js';
import { type ProfileSummary, summarizeProfile } from './profile-summary.js';
import { countsAcross, fmt, median, mib, table } from './stats.js';
import {
  CLI_BIN,
  cliCopyArgs,
  cliEnv,
  hasGnuTime,
  RCLONE_VERSION_ARGS,
  rcloneCopyArgs,
  rcloneEnv,
  rcloneVersion,
  runMeasured,
  type S3Target,
  type ToolRun,
  warningsIn,
} from './tools.js';
import {
  type CaseId,
  describeTarget,
  lambdaCost,
  medianRatios,
  type Pair,
  pairRatios,
  type RunSample,
  targetsFor,
  verdict,
} from './verdicts.js';

/** Public list price of Lambda duration, x86, us-east-1, first 6 billion GB-s a month (see BENCHMARKS.md). */
export const X86_DOLLARS_PER_GB_SECOND = 0.0000166667;
/** The same for Arm (Graviton), which the stack deploys (infra/constructs/archive-function.ts). */
export const ARM_DOLLARS_PER_GB_SECOND = 0.0000133334;
export const PRICE_NOTE =
  'AWS Lambda public list price, us-east-1, first pricing tier: x86 $0.0000166667 and Arm $0.0000133334 per GB-second (unchanged since the December 2020 1 ms billing change; as listed in May 2026)';

const CONCURRENCY = 8;
const REGION = 'us-east-1';

export interface VersusPlan {
  pairs: number;
  smallFiles: number;
  mediumFiles: number;
  largeSize: LargeSize;
  latencyFiles: number;
  latencyMs: number;
  startupRuns: number;
  /**
   * Take a CPU profile of the CLI on the small case, or the first case run when small is not (an extra, unmeasured
   * run); keep it in this folder if set.
   */
  profile: boolean;
  profileDir?: string;
  /** Only these cases (all when absent): re-running one case is then one short command. */
  cases?: CaseId[];
}

export interface VersusDeps {
  sandbox: EkuaibaoSandbox;
  s3: S3Process;
  bucket: string;
  tmp: string;
  emit: (text?: string) => void;
}

interface VsCase {
  id: CaseId;
  label: string;
  /** Directory on the listing server. */
  dir: string;
  files: SandboxFile[];
  latencyMs: number;
}

type Tool = 'ekb' | 'rclone';

interface Measured extends RunSample {
  run: ToolRun;
  originCpuMs: number;
  s3CpuMs: number;
  originCounts: ListingCounts;
  api: { token: number; downloadUrls: number; downloads: number };
  s3Counts: Record<string, number>;
  /** Warning and error lines the tool printed (count and the first two, shortened). */
  notes: string[];
}

const sizeLabel = (bytes: number): string =>
  bytes >= 1024 ** 3
    ? `${bytes / 1024 ** 3} GiB`
    : bytes >= 1024 ** 2
      ? `${bytes / 1024 ** 2} MiB`
      : `${bytes / 1024} KiB`;

function casesFor(plan: VersusPlan): VsCase[] {
  const small = setFiles('small-64KiB', plan.smallFiles);
  const medium = setFiles('medium-5MiB', plan.mediumFiles);
  const large = [largeFile(plan.largeSize)];
  const latency = setFiles('small-64KiB', plan.latencyFiles);
  const label = (files: SandboxFile[]) =>
    `${files.length.toLocaleString('en-US')} × ${sizeLabel(files[0]?.size ?? 0)}`;
  const all: VsCase[] = [
    { id: 'small', label: label(small), dir: `small-${small.length}`, files: small, latencyMs: 0 },
    { id: 'medium', label: label(medium), dir: `medium-${medium.length}`, files: medium, latencyMs: 0 },
    { id: 'large', label: label(large), dir: `large-${plan.largeSize}`, files: large, latencyMs: 0 },
    {
      id: 'latency',
      label: `${label(latency)}, ${plan.latencyMs} ms first byte`,
      dir: `small-${latency.length}`,
      files: latency,
      latencyMs: plan.latencyMs,
    },
  ];
  return plan.cases ? all.filter((c) => plan.cases?.includes(c.id)) : all;
}

/** SHA-256 of a file on disk (an object s3rver stored). */
function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => hash.update(c))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

const OBJECT_SUFFIX = '._S3rver_object';

export async function sectionVersusRclone(deps: VersusDeps, plan: VersusPlan): Promise<void> {
  const { emit, sandbox, s3, bucket } = deps;
  emit('## 6. The CLI against rclone: same files, same origin, same s3rver');
  emit();
  const version = rcloneVersion();
  if (!version) {
    emit(
      'rclone is not installed, so this section is skipped. Install it with `sudo apt-get install rclone` ' +
        '(Debian/Ubuntu; the figures in BENCHMARKS.md were taken with rclone 1.60.1 from Debian) and run ' +
        '`npm run bench -- --only=6` again.',
    );
    emit();
    return;
  }
  if (!hasGnuTime()) {
    emit(
      "GNU time (/usr/bin/time) is not installed; it measures each tool's CPU and peak RSS from wait4(), so this " +
        'section is skipped. Install it with `sudo apt-get install time`.',
    );
    emit();
    return;
  }

  const cases = casesFor(plan);
  const dirs: Record<string, SandboxFile[]> = {};
  for (const c of cases) dirs[c.dir] = c.files;
  const origin = await startListingServer(dirs);
  const work = join(deps.tmp, 'versus');
  const home = join(work, 'home');
  mkdirSync(home, { recursive: true });
  const target: S3Target = { endpoint: s3.endpoint, bucket, region: REGION };
  const path = process.env.PATH ?? '/usr/bin:/bin';
  const ekbEnv = cliEnv({
    ekbBaseUrl: sandbox.baseUrl,
    appKey: sandbox.appKey,
    appSecurity: sandbox.appSecurity,
    s3: target,
    path,
    home,
  });
  // rclone gets a HOME of its own, so the report can say it left nothing there (no rclone.conf, no cache).
  const rcloneHome = join(work, 'rclone-home');
  mkdirSync(rcloneHome, { recursive: true });
  const rcEnv = rcloneEnv(path, rcloneHome);
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  let seq = 0;

  const manifests = new Map<string, string>();
  const manifestFor = (c: VsCase): string => {
    let file = manifests.get(c.dir);
    if (!file) {
      file = join(work, `${c.dir}.jsonl`);
      writeFileSync(file, `${c.files.map((f) => JSON.stringify(refOf(f))).join('\n')}\n`);
      manifests.set(c.dir, file);
    }
    return file;
  };

  const expected = new Map<string, string>();
  const expectedSha = async (f: SandboxFile): Promise<string> => {
    let sha = expected.get(f.id);
    if (!sha) {
      sha = await sandbox.sha256(f.id);
      expected.set(f.id, sha);
    }
    return sha;
  };

  const bucketDir = join(s3.directory, bucket);
  /** Every file of the case arrived under the prefix, whole and byte-exact (checked outside the timed span). */
  const verify = async (c: VsCase, prefix: string, tool: Tool): Promise<void> => {
    const dir = join(bucketDir, 'bench', prefix);
    const names = new Set(
      readdirSync(dir)
        .filter((n) => n.endsWith(OBJECT_SUFFIX))
        .map((n) => n.slice(0, -OBJECT_SUFFIX.length)),
    );
    for (const f of c.files) {
      if (!names.has(f.fileName)) throw new Error(`${tool} did not write ${f.fileName} under ${prefix}`);
      const objectFile = join(dir, `${f.fileName}${OBJECT_SUFFIX}`);
      const size = statSync(objectFile).size;
      if (size !== f.size) throw new Error(`${tool} wrote ${size} of ${f.size} bytes for ${f.fileName}`);
      if ((await sha256OfFile(objectFile)) !== (await expectedSha(f))) {
        throw new Error(`${tool} wrote different bytes for ${f.fileName}`);
      }
    }
    if (names.size !== c.files.length)
      throw new Error(`${tool} wrote ${names.size} objects, expected ${c.files.length}`);
  };

  const cleanup = (prefix: string): void => {
    rmSync(join(bucketDir, 'bench', prefix), { recursive: true, force: true });
    // The CLI's job record and batch reports (only the bench writes to this bucket).
    rmSync(join(bucketDir, 'jobs'), { recursive: true, force: true });
    // Let s3rver's dirty pages reach the disk now, not during the next run (see section 1).
    execSync('sync');
  };

  const setLatency = (ms: number): void => {
    origin.setFirstByteDelay(ms);
    sandbox.clearFaults();
    // Every sandbox answer (token, downloadurls, download) waits before its status line, as listing-server.ts does.
    if (ms > 0) sandbox.inject({ kind: 'slowHeaders', route: 'any', delayMs: ms, times: 1_000_000_000 });
  };

  const commandFor = (
    tool: Tool,
    c: VsCase,
    prefix: string,
  ): { cmd: string; args: string[]; env: Record<string, string> } =>
    tool === 'ekb'
      ? {
          cmd: process.execPath,
          args: [
            CLI_BIN,
            ...cliCopyArgs({
              manifest: manifestFor(c),
              bucket,
              concurrency: CONCURRENCY,
              keyTemplate: `bench/${prefix}/{fileName}`,
            }),
          ],
          env: ekbEnv,
        }
      : {
          cmd: 'rclone',
          args: rcloneCopyArgs({
            httpUrl: origin.baseUrl,
            dir: c.dir,
            s3: target,
            prefix: `bench/${prefix}`,
            transfers: CONCURRENCY,
            checkers: CONCURRENCY,
          }),
          env: rcEnv,
        };

  const runOnce = async (tool: Tool, c: VsCase, extraNodeFlags: string[] = []): Promise<Measured> => {
    const prefix = `vs-${c.id}-${tool}-${++seq}`;
    const { cmd, args, env } = commandFor(tool, c, prefix);
    setLatency(c.latencyMs);
    await s3.takeCounts();
    origin.takeCounts();
    sandbox.resetStats();
    const cpu0 = process.cpuUsage();
    const s3Cpu0 = processCpuMs(s3.pid);
    try {
      const run = await runMeasured(
        cmd,
        [...extraNodeFlags, ...args],
        env,
        join(work, `${prefix}.out`),
        work,
      );
      const o = process.cpuUsage(cpu0);
      const s3CpuMs = processCpuMs(s3.pid) - s3Cpu0;
      const s3Counts = await s3.takeCounts();
      const originCounts = origin.takeCounts();
      const st = sandbox.stats;
      setLatency(0);
      if (run.exitCode !== 0) {
        throw new Error(`${tool} exited ${run.exitCode} on ${c.id}: ${run.output.slice(-2_000)}`);
      }
      await verify(c, prefix, tool);
      return {
        ms: run.ms,
        cpuMs: run.cpuMs,
        maxRssBytes: run.maxRssBytes,
        files: c.files.length,
        bytes: c.files.reduce((a, f) => a + f.size, 0),
        run,
        originCpuMs: (o.user + o.system) / 1000,
        s3CpuMs,
        originCounts,
        api: { token: st.tokenCalls, downloadUrls: st.downloadUrlCalls, downloads: st.downloadsStarted },
        s3Counts,
        notes: warningsIn(tool, run.output),
      };
    } finally {
      setLatency(0);
      cleanup(prefix);
    }
  };

  try {
    // Warm-up, not measured: both binaries (and the CLI's bundle, dist/local) come into the page cache.
    await runMeasured(process.execPath, [CLI_BIN, '--version'], ekbEnv, join(work, 'warm.out'));
    await runMeasured('rclone', RCLONE_VERSION_ARGS, rcEnv, join(work, 'warm.out'));

    const startup = { ekb: [] as ToolRun[], rclone: [] as ToolRun[] };
    for (let i = 0; i < plan.startupRuns; i++) {
      startup.ekb.push(
        await runMeasured(process.execPath, [CLI_BIN, '--version'], ekbEnv, join(work, 's.out')),
      );
      startup.rclone.push(await runMeasured('rclone', RCLONE_VERSION_ARGS, rcEnv, join(work, 's.out')));
    }

    const results = new Map<CaseId, Array<{ ekb: Measured; rclone: Measured }>>();
    for (const c of cases) {
      const pairs: Array<{ ekb: Measured; rclone: Measured }> = [];
      for (let i = 0; i < plan.pairs; i++) {
        const ekb = await runOnce('ekb', c);
        const rclone = await runOnce('rclone', c);
        pairs.push({ ekb, rclone });
        process.stderr.write(
          `  ${c.id} pair ${i + 1}/${plan.pairs}: ekb ${fmt(ekb.ms / 1000, 2)} s, rclone ${fmt(rclone.ms / 1000, 2)} s\n`,
        );
      }
      results.set(c.id, pairs);
    }

    let profile: ProfileSummary | undefined;
    // The small case when it runs (where per-file work shows most), else the first case asked for.
    const profiled = cases.find((c) => c.id === 'small') ?? cases[0];
    if (plan.profile && profiled) {
      const profDir = plan.profileDir ?? join(work, 'profile');
      rmSync(profDir, { recursive: true, force: true });
      mkdirSync(profDir, { recursive: true });
      const r = await runOnce('ekb', profiled, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (the copy runs there).
      const files = readdirSync(profDir).filter((n) => n.endsWith('.cpuprofile'));
      const file = files.find((n) => /\.\d+\.0\.\d+\.cpuprofile$/.test(n)) ?? files[0];
      if (!file) throw new Error(`node wrote no .cpuprofile into ${profDir}`);
      profile = summarizeProfile(JSON.parse(readFileSync(join(profDir, file), 'utf8')), repoRoot);
      profile.runMs = r.ms;
      profile.caseLabel = profiled.label;
      profile.file = plan.profileDir ? join(profDir, file) : undefined;
    }

    const leftInHome = readdirSync(rcloneHome, { recursive: true }).map(String);
    const { STACK_SETTINGS } = await import('../../infra/stack.js');
    report(emit, {
      leftInHome,
      version,
      plan,
      cases,
      results,
      startup,
      profile,
      copyMemoryMb: STACK_SETTINGS.copyMemoryMb.default,
    });
  } finally {
    setLatency(0);
    await origin.close();
    rmSync(work, { recursive: true, force: true });
  }
}

// ---- the report --------------------------------------------------------------------------------------------------

interface ReportInput {
  /** What rclone left in its own HOME over all its runs (nothing, when `--config ""` holds). */
  leftInHome: string[];
  version: string;
  plan: VersusPlan;
  cases: VsCase[];
  results: Map<CaseId, Array<{ ekb: Measured; rclone: Measured }>>;
  startup: { ekb: ToolRun[]; rclone: ToolRun[] };
  profile: ProfileSummary | undefined;
  copyMemoryMb: number;
}

const s = (ms: number, digits = 2) => fmt(ms / 1000, digits);
const mibOf = (bytes: number) => fmt(mib(bytes), 0);
const x = (ratio: number, digits = 2) => `${fmt(ratio, digits)}×`;
const perFile = (ms: number) => fmt(ms, ms >= 100 ? 0 : 2);

function report(emit: (t?: string) => void, r: ReportInput): void {
  const { plan } = r;
  emit(
    `\`ekb-archive copy --concurrency ${CONCURRENCY}\` (the CLI's bin running the bundle \`npm ci\` built, dist/local, as \`npx ekb-archive\` runs it) ` +
      `against \`rclone copy --transfers ${CONCURRENCY} --checkers ${CONCURRENCY}\` (${r.version}), ` +
      `${plan.pairs} pair(s) per case, run ekb then rclone, every run into a fresh prefix, every object checked ` +
      "byte for byte (SHA-256) after its run. Time is spawn to exit; CPU is user + system of the tool's whole " +
      'process tree and peak RSS its ru_maxrss, both from wait4() through GNU time. Ratios are medians of the ' +
      'per-pair ratios. ' +
      (r.leftInHome.length === 0
        ? 'rclone left nothing in its HOME (no rclone.conf, no cache).'
        : `rclone left files in its HOME: ${r.leftInHome.join(', ')}.`),
  );
  emit();

  const rows: string[][] = [];
  for (const c of r.cases) {
    const pairs = r.results.get(c.id) ?? [];
    const m = medianRatios(pairs as Pair[]);
    const med = (tool: Tool, f: (x: Measured) => number) => median(pairs.map((p) => f(p[tool])));
    const throughput = (tool: Tool) => {
      const bytes = pairs[0]?.[tool].bytes ?? 0;
      const files = pairs[0]?.[tool].files ?? 0;
      const ms = med(tool, (x) => x.ms);
      return c.id === 'large'
        ? `${fmt(mib(bytes) / (ms / 1000), 0)} MiB/s`
        : `${fmt(files / (ms / 1000), 0)} files/s`;
    };
    const cpuShare = (tool: Tool) =>
      `${fmt(
        med(tool, (x) => (100 * x.cpuMs) / x.ms),
        0,
      )} / ${fmt(
        med(tool, (x) => (100 * x.originCpuMs) / x.ms),
        0,
      )} / ${fmt(
        med(tool, (x) => (100 * x.s3CpuMs) / x.ms),
        0,
      )}`;
    rows.push([
      c.label,
      `${s(med('ekb', (x) => x.ms))} / ${s(med('rclone', (x) => x.ms))}`,
      `${throughput('ekb')} / ${throughput('rclone')}`,
      x(m.throughput),
      `${s(med('ekb', (x) => x.cpuMs))} / ${s(med('rclone', (x) => x.cpuMs))}`,
      `${perFile(med('ekb', (x) => x.cpuMs / x.files))} / ${perFile(med('rclone', (x) => x.cpuMs / x.files))}`,
      x(m.cpuPerFile),
      `${mibOf(med('ekb', (x) => x.maxRssBytes))} / ${mibOf(med('rclone', (x) => x.maxRssBytes))}`,
      x(m.rss),
      cpuShare('ekb'),
      cpuShare('rclone'),
    ]);
  }
  emit(
    table(
      [
        'case',
        'median s ekb / rclone',
        'throughput ekb / rclone',
        'ekb ÷ rclone throughput',
        'CPU-s ekb / rclone',
        'CPU-ms per file ekb / rclone',
        'ekb ÷ rclone CPU per file',
        'peak RSS MiB ekb / rclone',
        'ekb ÷ rclone RSS',
        'CPU % ekb / origin / s3rver',
        'CPU % rclone / origin / s3rver',
      ],
      rows,
    ),
  );
  emit();

  emit('### Targets (issue 17), measured ratio beside each');
  emit();
  const targetRows: string[][] = [];
  for (const c of r.cases) {
    const pairs = r.results.get(c.id) ?? [];
    const m = medianRatios(pairs as Pair[]);
    const perPair = pairs.map((p) => pairRatios(p as Pair));
    for (const t of targetsFor(c.id)) {
      const name = {
        throughput: 'throughput ekb ÷ rclone',
        cpuPerFile: 'CPU-seconds per file ekb ÷ rclone',
        rss: 'peak RSS ekb ÷ rclone',
      }[t.metric];
      targetRows.push([
        c.label,
        name,
        describeTarget(t),
        x(m[t.metric]),
        perPair.map((p) => fmt(p[t.metric], 2)).join(', '),
        verdict(m[t.metric], t),
      ]);
    }
  }
  emit(table(['case', 'ratio', 'target', 'measured (median)', 'per pair', 'verdict'], targetRows));
  emit();

  emit('### Runs (s), in order');
  emit();
  emit(
    table(
      ['case', 'ekb', 'rclone'],
      r.cases.map((c) => {
        const pairs = r.results.get(c.id) ?? [];
        return [
          c.label,
          pairs.map((p) => s(p.ekb.ms)).join(', '),
          pairs.map((p) => s(p.rclone.ms)).join(', '),
        ];
      }),
    ),
  );
  emit();

  emit('### What each tool asked for, per run (a range where the pairs differed)');
  emit();
  const reqRows: string[][] = [];
  for (const c of r.cases) {
    const pairs = r.results.get(c.id) ?? [];
    for (const tool of ['ekb', 'rclone'] as Tool[]) {
      const runs = pairs.map((p) => p[tool]);
      if (runs.length === 0) continue;
      const origin = runs.map(
        (m): Record<string, number> =>
          tool === 'ekb'
            ? { 'GET (signed URLs)': m.api.downloads }
            : { 'listing GET': m.originCounts.listing, HEAD: m.originCounts.head, GET: m.originCounts.get },
      );
      const notes = runs.flatMap((m, i) =>
        m.notes.length > 0 ? [`pair ${i + 1}: ${m.notes.join(' / ')}`] : [],
      );
      reqRows.push([
        c.label,
        tool,
        countsAcross(origin),
        tool === 'ekb'
          ? countsAcross(runs.map((m) => ({ token: m.api.token, downloadurls: m.api.downloadUrls })))
          : '—',
        countsAcross(runs.map((m) => sortedCounts(m.s3Counts))),
        notes.length > 0 ? notes.join('; ') : '—',
      ]);
    }
  }
  emit(
    table(
      ['case', 'tool', 'origin', '合思 API', 'S3 (s3rver)', 'warnings and errors the tool printed'],
      reqRows,
    ),
  );
  emit();

  const st = (tool: Tool, f: (t: ToolRun) => number) => median(r.startup[tool].map(f));
  emit(`### Start-up with no work (median of ${plan.startupRuns}, alternating)`);
  emit();
  emit(
    table(
      ['command', 'wall ms', 'CPU ms', 'peak RSS MiB'],
      [
        [
          'ekb-archive --version',
          fmt(
            st('ekb', (t) => t.ms),
            0,
          ),
          fmt(
            st('ekb', (t) => t.cpuMs),
            0,
          ),
          mibOf(st('ekb', (t) => t.maxRssBytes)),
        ],
        [
          'rclone --config "" version',
          fmt(
            st('rclone', (t) => t.ms),
            0,
          ),
          fmt(
            st('rclone', (t) => t.cpuMs),
            0,
          ),
          mibOf(st('rclone', (t) => t.maxRssBytes)),
        ],
      ],
    ),
  );
  emit();

  const startupCpu = st('ekb', (t) => t.cpuMs);
  emit(
    `### Cost line: Lambda duration for the CPU time measured, at the copy function's ${r.copyMemoryMb} MB`,
  );
  emit();
  emit(
    `GB-seconds = CPU-seconds × ${r.copyMemoryMb} / 1024 (median run of each case). At 1,769 MB a function has one ` +
      'vCPU, so a busy copy bills about its CPU time and any waiting is billed on top: this is a floor, not an ' +
      `estimate. The CLI's run includes its start-up, which a warm Lambda invocation does not pay; the second row of ` +
      `each case subtracts ${fmt(startupCpu, 0)} ms, the CPU of \`--version\` here (answered by the bin without ` +
      "loading the CLI, so this under-subtracts the copy command's own loading). The rclone row " +
      `prices rclone's CPU time the same way, for scale. ${PRICE_NOTE}. The stack deploys on Arm (Graviton); these ` +
      'CPU-seconds were measured on x86, so the Arm column assumes the same CPU time.',
  );
  emit();
  const dollars = (n: number) => (Number.isFinite(n) ? `$${n.toPrecision(3)}` : 'n/a');
  const costRows: string[][] = [];
  for (const c of r.cases) {
    if (c.id === 'latency') continue;
    const pairs = r.results.get(c.id) ?? [];
    const files = pairs[0]?.ekb.files ?? 0;
    const bytes = pairs[0]?.ekb.bytes ?? 0;
    const ekbCpu = median(pairs.map((p) => p.ekb.cpuMs));
    const rows: Array<[string, number]> = [
      ['ekb-archive', ekbCpu],
      ['ekb-archive, start-up subtracted', ekbCpu - startupCpu],
      ['rclone, same pricing', median(pairs.map((p) => p.rclone.cpuMs))],
    ];
    for (const [copier, cpu] of rows) {
      const x86 = lambdaCost(cpu, files, bytes, r.copyMemoryMb, X86_DOLLARS_PER_GB_SECOND);
      const arm = lambdaCost(cpu, files, bytes, r.copyMemoryMb, ARM_DOLLARS_PER_GB_SECOND);
      costRows.push([
        c.label,
        copier,
        s(cpu),
        fmt(x86.gbSecondsPerThousandFiles, 2),
        fmt(x86.gbSecondsPerGiB, 2),
        dollars(x86.dollarsPerThousandFiles),
        dollars(x86.dollarsPerGiB),
        dollars(arm.dollarsPerThousandFiles),
        dollars(arm.dollarsPerGiB),
      ]);
    }
  }
  emit(
    table(
      [
        'case',
        'copier',
        'CPU-s',
        'GB-s per 1,000 files',
        'GB-s per GiB',
        'x86 $ per 1,000 files',
        'x86 $ per GiB',
        'Arm $ per 1,000 files',
        'Arm $ per GiB',
      ],
      costRows,
    ),
  );
  emit();

  if (r.profile) {
    const p = r.profile;
    const pct = (ms: number) => fmt((100 * ms) / p.totalMs, 1);
    emit(
      `### Where the CLI's CPU goes: node --cpu-prof, ${p.caseLabel ?? ''} (one extra run, ${s(p.runMs ?? Number.NaN)} s)`,
    );
    emit();
    emit(
      `Sampled ${fmt(p.totalMs, 0)} ms on the main thread (idle excluded: ${fmt(p.idleMs, 0)} ms). "Self" is time in ` +
        'the code itself; "in stack" is time with that code anywhere on the stack, so rows overlap (node: process ' +
        'and V8 builtins hold the event loop\'s entry frames, so nearly everything is "in" them). Top 20 areas by ' +
        `self time.${p.file ? ` Raw profile: ${p.file}` : ''}`,
    );
    emit();
    emit(
      table(
        ['area', 'self ms', 'self %', 'in stack ms', 'in stack %'],
        p.categories
          .slice(0, 20)
          .map((cat) => [
            cat.name,
            fmt(cat.selfMs, 0),
            pct(cat.selfMs),
            fmt(cat.inclusiveMs, 0),
            pct(cat.inclusiveMs),
          ]),
      ),
    );
    emit();
    emit(
      table(
        ['top functions by self time', 'where', 'self ms', 'self %'],
        p.topFunctions.map((f) => [f.name, f.where, fmt(f.selfMs, 0), pct(f.selfMs)]),
      ),
    );
    emit();
    emit(
      table(
        ['library and ekb-archive functions by time in stack', 'where', 'in stack ms', 'in stack %'],
        p.topInclusive.map((f) => [f.name, f.where, fmt(f.inclusiveMs, 0), pct(f.inclusiveMs)]),
      ),
    );
    emit();
  }
}

function sortedCounts(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}
