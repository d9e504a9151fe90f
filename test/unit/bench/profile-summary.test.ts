import { describe, expect, it } from 'vitest';
import { type CpuProfile, categoryOf, summarizeProfile } from '../../bench/profile-summary.js';

const ROOT = '/work/repo';
const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('bench profile summary: areas', () => {
  it('names packages (scoped ones whole, the AWS SDK grouped), node internals, this repository and V8', () => {
    expect(
      categoryOf(frame('send', `file://${ROOT}/node_modules/@smithy/core/dist-cjs/index.js`), ROOT),
    ).toBe('AWS SDK: @smithy/*');
    expect(
      categoryOf(frame('x', `file://${ROOT}/node_modules/@aws-sdk/client-s3/dist-cjs/index.js`), ROOT),
    ).toBe('AWS SDK: @aws-sdk/*');
    expect(
      categoryOf(frame('request', `file://${ROOT}/node_modules/undici/lib/api/api-request.js`), ROOT),
    ).toBe('undici');
    expect(categoryOf(frame('Readable.push', 'node:internal/streams/readable'), ROOT)).toBe('node: streams');
    expect(categoryOf(frame('ClientRequest', 'node:_http_client'), ROOT)).toBe('node: http');
    expect(categoryOf(frame('copyOne', `file://${ROOT}/functions/core/copy/copy-batch.ts`), ROOT)).toBe(
      'ekb-archive: functions/core/copy',
    );
    expect(categoryOf(frame('main', `file://${ROOT}/infra/local/cli/main.ts`), ROOT)).toBe(
      'ekb-archive: infra/local/cli',
    );
    expect(categoryOf(frame('(garbage collector)'), ROOT)).toBe('garbage collection');
    expect(categoryOf(frame('(idle)'), ROOT)).toBe('idle');
    expect(categoryOf(frame('writev'), ROOT)).toBe('V8 builtins (no script)');
  });
});

describe('bench profile summary: time', () => {
  // root → main (repo) → send (@smithy) → sign (@smithy) ; root → (idle) ; root → (garbage collector)
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 5, 6] },
      { id: 2, callFrame: frame('main', `file://${ROOT}/infra/local/cli/main.ts`, 9), children: [3] },
      {
        id: 3,
        callFrame: frame('send', `file://${ROOT}/node_modules/@smithy/core/index.js`, 1),
        children: [4],
      },
      { id: 4, callFrame: frame('sign', `file://${ROOT}/node_modules/@smithy/signature-v4/index.js`, 2) },
      { id: 5, callFrame: frame('(idle)') },
      { id: 6, callFrame: frame('(garbage collector)') },
    ],
    startTime: 0,
    endTime: 10_000,
    // Sample i lasts until sample i + 1 (timeDeltas[i + 1]); the last lasts the mean interval (10 ms / 5 = 2 ms).
    samples: [2, 4, 4, 5, 6],
    timeDeltas: [0, 1_000, 2_000, 3_000, 1_000],
  };
  const summary = summarizeProfile(profile, ROOT);
  const cat = (name: string) => summary.categories.find((c) => c.name === name);

  it('gives each sample the time until the next one and leaves idle out of the total', () => {
    // main 1 ms, sign 2 + 3 ms, idle 1 ms (excluded), GC 2 ms (the last sample, mean interval).
    expect(summary.idleMs).toBeCloseTo(1, 10);
    expect(summary.totalMs).toBeCloseTo(1 + 5 + 2, 10);
  });

  it('counts self time where the sample landed and "in stack" time for every area on its stack, once', () => {
    expect(cat('AWS SDK: @smithy/*')).toMatchObject({ selfMs: 5, inclusiveMs: 5 });
    expect(cat('ekb-archive: infra/local/cli')).toMatchObject({ selfMs: 1, inclusiveMs: 6 });
    expect(cat('garbage collection')).toMatchObject({ selfMs: 2, inclusiveMs: 2 });
    expect(summary.categories[0]?.name).toBe('AWS SDK: @smithy/*');
  });

  it('ranks functions by self time and by time in stack', () => {
    expect(summary.topFunctions[0]).toMatchObject({ name: 'sign', selfMs: 5 });
    expect(summary.topFunctions[0]?.where).toBe('@smithy/signature-v4/index.js:3');
    const incl = Object.fromEntries(summary.topInclusive.map((f) => [f.name, f.inclusiveMs]));
    expect(incl).toEqual({ main: 6, send: 5, sign: 5 });
  });
});
