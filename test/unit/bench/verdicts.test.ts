import { describe, expect, it } from 'vitest';
import {
  describeTarget,
  lambdaCost,
  medianRatios,
  type Pair,
  pairRatios,
  type RunSample,
  targetsFor,
  verdict,
} from '../../bench/verdicts.js';

const run = (over: Partial<RunSample>): RunSample => ({
  ms: 10_000,
  cpuMs: 5_000,
  maxRssBytes: 100 * 1024 * 1024,
  files: 2_000,
  bytes: 2_000 * 65_536,
  ...over,
});

describe('bench verdicts: per-pair ratios', () => {
  it('gives throughput as rclone time over ekb time, CPU per file and RSS as ekb over rclone', () => {
    const r = pairRatios({
      ekb: run({ ms: 8_000, cpuMs: 6_000, maxRssBytes: 300 }),
      rclone: run({ ms: 10_000, cpuMs: 2_000, maxRssBytes: 100 }),
    });
    expect(r.throughput).toBeCloseTo(1.25, 10);
    expect(r.cpuPerFile).toBeCloseTo(3, 10);
    expect(r.rss).toBeCloseTo(3, 10);
  });

  it('refuses a pair whose runs moved different files or bytes', () => {
    expect(() => pairRatios({ ekb: run({ files: 1_999 }), rclone: run({}) })).toThrow(/same files/);
    expect(() => pairRatios({ ekb: run({}), rclone: run({ bytes: 1 }) })).toThrow(/same files/);
  });

  it('takes the median of the per-pair ratios, not the ratio of medians', () => {
    // Pair speeds ekb ÷ rclone: 2.0, 0.5, 1.0 → median 1.0. Ratio of median times would be 10/10 too, so make
    // the pairs differ in scale: the per-pair median must ignore that scale.
    const pairs: Pair[] = [
      { ekb: run({ ms: 1_000 }), rclone: run({ ms: 2_000 }) },
      { ekb: run({ ms: 40_000 }), rclone: run({ ms: 20_000 }) },
      { ekb: run({ ms: 30_000 }), rclone: run({ ms: 30_000 }) },
    ];
    expect(medianRatios(pairs).throughput).toBeCloseTo(1.0, 10);
    const even: Pair[] = pairs.slice(0, 2);
    expect(medianRatios(even).throughput).toBeCloseTo((2.0 + 0.5) / 2, 10);
  });
});

describe('bench verdicts: issue 17 targets', () => {
  it('asks ≥ 1.0× throughput on small, medium and large and ≥ 2.0× on the latency case', () => {
    for (const id of ['small', 'medium', 'large'] as const) {
      expect(targetsFor(id).find((t) => t.metric === 'throughput')).toEqual({
        metric: 'throughput',
        kind: 'atLeast',
        bound: 1.0,
      });
    }
    expect(targetsFor('latency').find((t) => t.metric === 'throughput')?.bound).toBe(2.0);
  });

  it('holds CPU per file to rclone only on small and medium, and RSS to 2× everywhere', () => {
    expect(targetsFor('small').map((t) => t.metric)).toContain('cpuPerFile');
    expect(targetsFor('medium').map((t) => t.metric)).toContain('cpuPerFile');
    expect(targetsFor('large').map((t) => t.metric)).not.toContain('cpuPerFile');
    expect(targetsFor('latency').map((t) => t.metric)).not.toContain('cpuPerFile');
    for (const id of ['small', 'medium', 'large', 'latency'] as const) {
      expect(targetsFor(id).find((t) => t.metric === 'rss')).toEqual({
        metric: 'rss',
        kind: 'atMost',
        bound: 2.0,
      });
    }
  });

  it('says PASS on the bound itself and MISS just past it, in both directions', () => {
    const atLeast = { metric: 'throughput' as const, kind: 'atLeast' as const, bound: 1.0 };
    const atMost = { metric: 'rss' as const, kind: 'atMost' as const, bound: 2.0 };
    expect(verdict(1.0, atLeast)).toBe('PASS');
    expect(verdict(0.999, atLeast)).toBe('MISS');
    expect(verdict(2.0, atMost)).toBe('PASS');
    expect(verdict(2.001, atMost)).toBe('MISS');
    expect(describeTarget(atLeast)).toBe('≥ 1.0×');
    expect(describeTarget(atMost)).toBe('≤ 2.0×');
  });

  it('never turns a missing measurement into a PASS', () => {
    const t = targetsFor('small')[0]!;
    expect(verdict(Number.NaN, t)).toBe('n/a');
    expect(verdict(Number.POSITIVE_INFINITY, t)).toBe('n/a');
  });
});

describe('bench verdicts: Lambda cost of CPU time', () => {
  it('bills CPU-seconds × memory in GB (MB / 1024) and spreads it per 1,000 files and per GiB', () => {
    // 2 CPU-seconds at 1,024 MB = 2 GB-s, for 4,000 files of 0.5 GiB in all.
    const c = lambdaCost(2_000, 4_000, 512 * 1024 ** 2, 1_024, 0.5);
    expect(c.gbSeconds).toBeCloseTo(2, 12);
    expect(c.gbSecondsPerThousandFiles).toBeCloseTo(0.5, 12);
    expect(c.gbSecondsPerGiB).toBeCloseTo(4, 12);
    expect(c.dollarsPerThousandFiles).toBeCloseTo(0.25, 12);
    expect(c.dollarsPerGiB).toBeCloseTo(2, 12);
  });

  it('at the copy function’s 1,769 MB, one CPU-second is 1.7275 GB-s', () => {
    expect(lambdaCost(1_000, 1, 1, 1_769, 1).gbSeconds).toBeCloseTo(1.727_539, 5);
  });
});
