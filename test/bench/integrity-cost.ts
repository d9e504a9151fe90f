/**
 * Section 8 (issue 14): what checking every file costs. The product has no switch to turn the checks off, so the
 * bench measures them two ways:
 * - alone (hash-child.ts): the copy engine's VerifyingTransform over the same bytes with nothing else running, for
 *   each set of checks (SHA-256 only, + CRC-64, + MD5) against a PassThrough, on 1 GiB and on 2,000 × 64 KiB;
 * - in the copy: 1 GiB and 2,000 × 64 KiB through the whole engine with the origin's x-oss-hash-crc64ecma on (SHA-256
 *   and CRC-64 computed) and off (SHA-256 only), beside section 1's minimal pipe (undici body → lib-storage Upload:
 *   no check at all) for the 1 GiB file.
 */
import type { EkuaibaoSandbox } from '../../infra/local/sandbox/types.js';
import type { BatchResult, LargeResult } from './child.js';
import type { HashResult, HashTask, HashVariant } from './hash-child.js';
import { GIB, largeFile, MIB, setFiles } from './inputs.js';
import { fmt, median, mibPerSec, table } from './stats.js';

const KIB = 1024;
const CHUNK = 64 * KIB;
const VARIANTS: Array<[HashVariant, string]> = [
  ['none', 'no check (PassThrough)'],
  ['sha256', 'SHA-256 (every file)'],
  ['sha256+crc64', 'SHA-256 + CRC-64 (OSS sent x-oss-hash-crc64ecma)'],
  ['sha256+crc64+md5', 'SHA-256 + CRC-64 + MD5 (and Content-MD5)'],
];

export interface IntegrityBenchDeps {
  emit: (text?: string) => void;
  sandbox: EkuaibaoSandbox;
  runHash: (task: HashTask) => Promise<HashResult>;
  runLarge: (mode: 'pipe' | 'engine') => Promise<LargeResult>;
  runSmall: (count: number, concurrency: number) => Promise<BatchResult>;
}

export interface IntegrityPlan {
  repeats: number;
  smallCount: number;
}

const cpuSeconds = (ms: number): string => fmt(ms / 1000, 2);

async function checksAlone(d: IntegrityBenchDeps, plan: IntegrityPlan): Promise<void> {
  const rows: string[][] = [];
  const base = { large: 0, small: 0 };
  for (const [variant, label] of VARIANTS) {
    const large: HashResult[] = [];
    const small: HashResult[] = [];
    for (let i = 0; i < plan.repeats; i++) {
      // 1 GiB as 16 bodies of 64 MiB (the bytes of one large file, without a 1 GiB buffer in the child).
      large.push(await d.runHash({ kind: 'hash', variant, files: 16, size: 64 * MIB, chunk: CHUNK }));
      small.push(
        await d.runHash({ kind: 'hash', variant, files: plan.smallCount, size: 64 * KIB, chunk: CHUNK }),
      );
    }
    const lCpu = median(large.map((r) => r.cpuMs));
    const sCpu = median(small.map((r) => r.cpuMs));
    if (variant === 'none') {
      base.large = lCpu;
      base.small = sCpu;
    }
    rows.push([
      label,
      fmt(mibPerSec(GIB, median(large.map((r) => r.ms))), 0),
      cpuSeconds(lCpu),
      cpuSeconds(lCpu - base.large),
      fmt(plan.smallCount / (median(small.map((r) => r.ms)) / 1000), 0),
      fmt(((sCpu - base.small) / plan.smallCount) * 1000, 0),
    ]);
  }
  d.emit('### 8a. The checks alone (no network): the engine’s VerifyingTransform over the same bytes');
  d.emit();
  d.emit(
    table(
      [
        'checks',
        '1 GiB: MiB/s',
        '1 GiB: CPU s',
        '1 GiB: CPU s over no check',
        `${plan.smallCount} × 64 KiB: files/s`,
        'CPU ms per 1,000 files over no check',
      ],
      rows,
    ),
  );
  d.emit();
}

async function checksInCopy(d: IntegrityBenchDeps, plan: IntegrityPlan): Promise<void> {
  const large = new Map<string, LargeResult[]>();
  const small = new Map<string, BatchResult[]>();
  const add = <T>(m: Map<string, T[]>, k: string, r: T) => m.set(k, [...(m.get(k) ?? []), r]);
  const order = ['pipe', 'engine-crc', 'engine-sha'];
  for (let i = 0; i < plan.repeats; i++) {
    // Rotate the order every repeat so drift on the shared machine does not favour one contender.
    for (let j = 0; j < order.length; j++) {
      const which = order[(i + j) % order.length] as string;
      d.sandbox.setIntegrity({ crc64: which !== 'engine-sha' });
      add(large, which, await d.runLarge(which === 'pipe' ? 'pipe' : 'engine'));
      if (which !== 'pipe') add(small, which, await d.runSmall(plan.smallCount, 8));
    }
  }
  d.sandbox.setIntegrity({ crc64: true });
  const lMs = (k: string) => median((large.get(k) ?? []).map((r) => r.ms));
  const lCpu = (k: string) => median((large.get(k) ?? []).map((r) => r.cpuMs));
  const sMs = (k: string) => median((small.get(k) ?? []).map((r) => r.ms));
  const sCpu = (k: string) => median((small.get(k) ?? []).map((r) => r.cpuMs));
  const labels: Record<string, string> = {
    pipe: 'minimal pipe (section 1): no check',
    'engine-sha': 'copy engine, origin without CRC-64: SHA-256',
    'engine-crc': 'copy engine, origin with CRC-64 (as OSS): SHA-256 + CRC-64',
  };
  d.emit('### 8b. In the copy: the same files through the whole engine, with and without the CRC-64 check');
  d.emit();
  d.emit(
    table(
      [
        'contender',
        '1 GiB: median s',
        'MiB/s',
        'copier CPU s',
        `${plan.smallCount} × 64 KiB (c=8): median s`,
        'files/s',
        'copier CPU s',
      ],
      ['pipe', 'engine-sha', 'engine-crc'].map((k) => [
        labels[k] as string,
        fmt(lMs(k) / 1000, 2),
        fmt(mibPerSec(GIB, lMs(k)), 0),
        cpuSeconds(lCpu(k)),
        k === 'pipe' ? '–' : fmt(sMs(k) / 1000, 2),
        k === 'pipe' ? '–' : fmt(plan.smallCount / (sMs(k) / 1000), 0),
        k === 'pipe' ? '–' : cpuSeconds(sCpu(k)),
      ]),
    ),
  );
  d.emit();
  d.emit(
    `Per-repeat runs (s): ${order.map((k) => `${k} ${(large.get(k) ?? []).map((r) => fmt(r.ms / 1000, 2)).join('/')}`).join('; ')}. ` +
      'CRC-64 in situ = engine with CRC-64 − engine without; all checks ≈ engine with CRC-64 − pipe (the engine also ' +
      'resolves, HEADs and counts, which the pipe does not; 8a isolates the checks).',
  );
  d.emit();
}

export async function sectionIntegrity(d: IntegrityBenchDeps, plan: IntegrityPlan): Promise<void> {
  // The origin computes each file's CRC-64 once and keeps it: warm it, so no timed GET pays for it.
  await d.sandbox.checksums(largeFile('1GiB').id);
  for (const f of setFiles('small-64KiB', plan.smallCount)) await d.sandbox.checksums(f.id);
  d.emit('## 8. Integrity: the cost of checking every file');
  d.emit();
  d.emit(
    `Median of ${plan.repeats} run(s), each in a fresh process. The product cannot turn the checks off; 8a measures ` +
      'them alone, 8b in the copy with the origin’s CRC-64 on and off, beside the minimal pipe (no check).',
  );
  d.emit();
  await checksAlone(d, plan);
  await checksInCopy(d, plan);
}
