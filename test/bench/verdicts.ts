/**
 * The arithmetic of the rclone section, kept apart from the processes so it can be unit-tested: per-pair ratios,
 * issue 17's targets with an honest PASS/MISS, and the Lambda cost of the measured CPU time.
 */
import { median } from './stats.js';

export type CaseId = 'small' | 'medium' | 'large' | 'latency';

/** One measured run of one tool on one case. */
export interface RunSample {
  ms: number;
  /** User + system CPU of the tool's process tree. */
  cpuMs: number;
  maxRssBytes: number;
  files: number;
  bytes: number;
}

export interface Pair {
  ekb: RunSample;
  rclone: RunSample;
}

export interface PairRatios {
  /** ekb throughput ÷ rclone throughput over the same bytes = rclone time ÷ ekb time. */
  throughput: number;
  /** ekb CPU-seconds per file ÷ rclone's. */
  cpuPerFile: number;
  /** ekb peak RSS ÷ rclone's. */
  rss: number;
}

export function pairRatios(p: Pair): PairRatios {
  if (p.ekb.files !== p.rclone.files || p.ekb.bytes !== p.rclone.bytes) {
    throw new Error(
      `a pair must move the same files: ekb ${p.ekb.files}/${p.ekb.bytes} B, rclone ${p.rclone.files}/${p.rclone.bytes} B`,
    );
  }
  return {
    throughput: p.rclone.ms / p.ekb.ms,
    cpuPerFile: p.ekb.cpuMs / p.ekb.files / (p.rclone.cpuMs / p.rclone.files),
    rss: p.ekb.maxRssBytes / p.rclone.maxRssBytes,
  };
}

/** Median of each per-pair ratio (pairs ran back to back, so each ratio cancels the machine's slow patches). */
export function medianRatios(pairs: readonly Pair[]): PairRatios {
  const rs = pairs.map(pairRatios);
  return {
    throughput: median(rs.map((r) => r.throughput)),
    cpuPerFile: median(rs.map((r) => r.cpuPerFile)),
    rss: median(rs.map((r) => r.rss)),
  };
}

export interface Target {
  metric: keyof PairRatios;
  /** `atLeast`: the ratio must be ≥ bound; `atMost`: ≤ bound. */
  kind: 'atLeast' | 'atMost';
  bound: number;
}

/** Issue 17's targets, per case. */
export function targetsFor(id: CaseId): Target[] {
  const targets: Target[] = [{ metric: 'throughput', kind: 'atLeast', bound: id === 'latency' ? 2.0 : 1.0 }];
  if (id === 'small' || id === 'medium') targets.push({ metric: 'cpuPerFile', kind: 'atMost', bound: 1.0 });
  targets.push({ metric: 'rss', kind: 'atMost', bound: 2.0 });
  return targets;
}

export type Verdict = 'PASS' | 'MISS' | 'n/a';

export function verdict(value: number, target: Target): Verdict {
  if (!Number.isFinite(value)) return 'n/a';
  const ok = target.kind === 'atLeast' ? value >= target.bound : value <= target.bound;
  return ok ? 'PASS' : 'MISS';
}

export function describeTarget(t: Target): string {
  return `${t.kind === 'atLeast' ? '≥' : '≤'} ${t.bound.toFixed(1)}×`;
}

export interface LambdaCost {
  /** GB-seconds for the whole run: CPU-seconds × memory (GB = MB / 1024, as Lambda bills). */
  gbSeconds: number;
  gbSecondsPerThousandFiles: number;
  gbSecondsPerGiB: number;
  dollarsPerThousandFiles: number;
  dollarsPerGiB: number;
}

/**
 * What the run's CPU time costs as Lambda duration at `memoryMb`. At 1,769 MB a function has one vCPU, so a copy
 * that keeps its one core busy bills about its CPU-seconds; any time spent waiting is billed on top. This is
 * therefore a floor on the duration cost, not an estimate of it.
 */
export function lambdaCost(
  cpuMs: number,
  files: number,
  bytes: number,
  memoryMb: number,
  dollarsPerGbSecond: number,
): LambdaCost {
  const gbSeconds = (cpuMs / 1000) * (memoryMb / 1024);
  const gib = bytes / 1024 ** 3;
  return {
    gbSeconds,
    gbSecondsPerThousandFiles: (gbSeconds * 1000) / files,
    gbSecondsPerGiB: gbSeconds / gib,
    dollarsPerThousandFiles: ((gbSeconds * 1000) / files) * dollarsPerGbSecond,
    dollarsPerGiB: (gbSeconds / gib) * dollarsPerGbSecond,
  };
}
