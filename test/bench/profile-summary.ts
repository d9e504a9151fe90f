/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and says where the time went: by package or area (self time and time
 * with that area anywhere on the stack), and the functions with the most self time.
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  /** Microseconds before each sample. */
  timeDeltas?: number[];
}

export interface ProfileSummary {
  /** Sampled time, idle excluded (ms). */
  totalMs: number;
  idleMs: number;
  categories: Array<{ name: string; selfMs: number; inclusiveMs: number }>;
  topFunctions: Array<{ name: string; where: string; selfMs: number }>;
  /**
   * Library and ekb-archive functions by time with them anywhere on the stack (each counted once per sample):
   * what a call costs with everything under it, e.g. the SDK's send() or the signer.
   */
  topInclusive: Array<{ name: string; where: string; inclusiveMs: number }>;
  /** Filled in by the caller: the profiled run's wall time and where the raw profile was kept. */
  runMs?: number;
  /** Filled in by the caller: the case the profiled run copied. */
  caseLabel?: string;
  file?: string | undefined;
}

/** The area a frame belongs to: a package, a part of node, a folder of this repository, or V8 itself. */
export function categoryOf(frame: CpuProfileNode['callFrame'], repoRoot: string): string {
  const { functionName, url } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'garbage collection';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8 and native code outside JS (program)';
    if (functionName === '(root)') return 'root';
    return 'V8 builtins (no script)';
  }
  if (url.startsWith('node:')) {
    const seg =
      url
        .slice(5)
        .replace(/^internal\//, '')
        .split('/')[0] ?? '';
    return `node: ${seg.replace(/^_http_\w+$/, 'http').replace(/^_stream_\w+$/, 'streams')}`;
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split('/');
    const pkg = parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? '');
    if (pkg.startsWith('@aws-sdk/')) return 'AWS SDK: @aws-sdk/*';
    if (pkg.startsWith('@smithy/')) return 'AWS SDK: @smithy/*';
    return pkg;
  }
  const root = repoRoot.endsWith('/') ? repoRoot : `${repoRoot}/`;
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(root)) {
    const rel = path.slice(root.length).split('/');
    return `ekb-archive: ${rel.slice(0, Math.min(3, rel.length - 1)).join('/')}`;
  }
  return 'other';
}

const shortWhere = (url: string, line: number): string => {
  const nm = url.lastIndexOf('/node_modules/');
  const tail = nm >= 0 ? url.slice(nm + 14) : url.replace(/^file:\/\/.*?\/(functions|infra|test)\//, '$1/');
  return url === '' ? '' : `${tail}:${line + 1}`;
};

export function summarizeProfile(profile: CpuProfile, repoRoot: string, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Each sample lasts until the next one; the last gets the mean interval.
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const meanUs = samples.length > 0 ? (profile.endTime - profile.startTime) / samples.length : 0;
  const durUs = samples.map((_, i) => (i + 1 < deltas.length ? (deltas[i + 1] as number) : meanUs));

  const pathCats = new Map<number, string[]>();
  const categoriesOnPath = (id: number): string[] => {
    const known = pathCats.get(id);
    if (known) return known;
    const node = byId.get(id) as CpuProfileNode;
    const own = categoryOf(node.callFrame, repoRoot);
    const up = parent.has(id) ? categoriesOnPath(parent.get(id) as number) : [];
    const cats = up.includes(own) ? up : [...up, own];
    pathCats.set(id, cats);
    return cats;
  };

  const isCode = (cat: string): boolean =>
    !cat.startsWith('node: ') &&
    !['root', 'idle', 'garbage collection'].includes(cat) &&
    !cat.startsWith('V8 ');
  const fnKey = (f: CpuProfileNode['callFrame']) => `${f.functionName}\u0000${f.url}\u0000${f.lineNumber}`;
  const fnIncl = new Map<string, { name: string; where: string; us: number }>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const fnSelf = new Map<string, { name: string; where: string; us: number }>();
  let idleUs = 0;
  let totalUs = 0;
  samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const us = durUs[i] as number;
    const cat = categoryOf(node.callFrame, repoRoot);
    if (cat === 'idle') {
      idleUs += us;
      return;
    }
    totalUs += us;
    self.set(cat, (self.get(cat) ?? 0) + us);
    for (const c of categoriesOnPath(id)) {
      if (c === 'root') continue;
      inclusive.set(c, (inclusive.get(c) ?? 0) + us);
    }
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = (byId.get(at) as CpuProfileNode).callFrame;
      if (!isCode(categoryOf(frame, repoRoot))) continue;
      const k = fnKey(frame);
      if (seen.has(k)) continue;
      seen.add(k);
      const f = fnIncl.get(k) ?? {
        name: frame.functionName || '(anonymous)',
        where: shortWhere(frame.url, frame.lineNumber),
        us: 0,
      };
      f.us += us;
      fnIncl.set(k, f);
    }
    const { functionName, url, lineNumber } = node.callFrame;
    const key = fnKey(node.callFrame);
    const f = fnSelf.get(key) ?? {
      name: functionName || '(anonymous)',
      where: shortWhere(url, lineNumber),
      us: 0,
    };
    f.us += us;
    fnSelf.set(key, f);
  });

  const names = new Set([...self.keys(), ...inclusive.keys()]);
  const categories = [...names]
    .map((name) => ({
      name,
      selfMs: (self.get(name) ?? 0) / 1000,
      inclusiveMs: (inclusive.get(name) ?? 0) / 1000,
    }))
    .sort((a, b) => b.selfMs - a.selfMs || b.inclusiveMs - a.inclusiveMs);
  const topFunctions = [...fnSelf.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000 }));
  const topInclusive = [...fnIncl.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((f) => ({ name: f.name, where: f.where, inclusiveMs: f.us / 1000 }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, categories, topFunctions, topInclusive };
}
