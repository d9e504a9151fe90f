/**
 * CRC-64/XZ slicing-by-N (N = 16 by default; 8 and 32 for comparison) in WebAssembly, where the register is a real
 * i64 and every table entry one i64 load: over twice the speed of the JavaScript slicing-by-8 in crc64-js.ts, the
 * copy of each chunk into wasm memory included (test/bench/crc64-speed.ts measures them).
 *
 * No toolchain builds this: the module's bytes are assembled below from named opcodes and compiled synchronously,
 * once, by createWasmStep (crc64.ts calls it on the first update): no file read, no top-level await, so it goes
 * into esbuild bundles as plain code. Assembling, compiling and filling the tables take a few ms, once per process.
 *
 * Memory: one fixed memory (2 pages for N = 16), never grown, so views on its buffer stay valid:
 *   [0, 8)                       the register, an i64 (little-endian: low half first)
 *   [TABLES, + N × 2 KiB)        slicing table k at TABLES + k × 2048: 256 i64 entries (built by `init`, below)
 *   [shiftTables, + 8 × 2 KiB)   the shift tables of Z (filled by fillShiftTables, below)
 *   [window, + 64 KiB)           from the next page boundary: where a chunk is copied, 64 KiB at a time
 *
 * `update($p, $n)` runs over [$p, $p + $n) with the register in an i64 local, $crc, in three loops:
 *   1. blocks of 2 × HALF bytes, each as two streams of slicing steps side by side: stream A carries $crc over the
 *      first half while stream B starts from 0 over the second; then $crc = Z(A) ^ B, Z carrying a register through
 *      HALF zero bytes (8 lookups in the shift tables). Two independent chains of lookups keep the CPU busier than
 *      one: 10–15% faster than one stream of slicing-by-32;
 *   2. single slicing steps of N bytes, as long as N bytes remain;
 *   3. single bytes: $crc = $crc >> 8 ^ T0[(wrap($crc) ^ i32.load8_u($p)) & 0xff].
 *
 * A slicing step of stream A, as WAT (N = 8 shown; with N = 16 or 32 the words go on to $w2, $w3, ... =
 * i32.load offset=8, 12, ..., and bytes 8..N-1, which do not depend on $crc, look up tables N-9..0 in a balanced
 * xor tree of their own that one last i64.xor joins to the one shown; stream B's loads have offset=HALF more):
 *   (local.set $w0 (i32.xor (i32.load (local.get $p)) (i32.wrap_i64 (local.get $crc))))
 *   (local.set $w1 (i32.xor (i32.load offset=4 (local.get $p))
 *                           (i32.wrap_i64 (i64.shr_u (local.get $crc) (i64.const 32)))))
 *   (local.set $crc                 ;; byte i of the step looks up table N-1-i; the xors form a balanced tree
 *     (i64.xor (i64.xor (i64.xor
 *       (i64.load offset=TABLES+7*2048 (i32.and (i32.shl (local.get $w0) (i32.const 3)) (i32.const 0x7f8)))
 *       (i64.load offset=TABLES+6*2048 (i32.and (i32.shr_u (local.get $w0) (i32.const 5)) (i32.const 0x7f8))))
 *       ...) ...
 *       (i64.load offset=TABLES+0*2048 (i32.and (i32.shr_u (local.get $w1) (i32.const 21)) (i32.const 0x7f8)))))
 *
 * Measured and dropped (V8 13 on x64): a chain of xors in byte order (1.4× slower than the trees), slicing-by-64
 * (its 128 KiB of tables miss L1), unrolling the step twice, reading bytes 8..N-1 with i32.load8_u, loading all
 * lookups into locals before xoring them (registers spill), and copying in windows of 8 or 16 KiB.
 */
import type { Crc64Register, Crc64Step } from './crc64-tables.js';

/** What this file needs of the WebAssembly global (the project's lib settings do not declare it). */
declare const WebAssembly:
  | {
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object) => { exports: Record<string, unknown> };
    }
  | undefined;

/** Bytes a slicing step: 16 measured fastest in two streams (see test/bench/crc64-speed.ts). */
export type Slices = 8 | 16 | 32;
export const DEFAULT_SLICES: Slices = 16;

const TABLES = 64;
const TABLE_BYTES = 256 * 8;
const PAGE = 65536;
const WINDOW_SIZE = 65536;
/** Bytes in each half of a two-stream block. */
const HALF = 4096;

/** Where the shift tables (after the N slicing tables) and the window (on the next page boundary) are. */
function layout(slices: Slices): { shiftTables: number; window: number; pages: number } {
  const shiftTables = TABLES + slices * TABLE_BYTES;
  const window = Math.ceil((shiftTables + 8 * TABLE_BYTES) / PAGE) * PAGE;
  return { shiftTables, window, pages: (window + WINDOW_SIZE) / PAGE };
}

/** Opcodes and type codes used here (WebAssembly core spec, binary format). */
const OP = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i64Load: 0x29,
  i32Load8U: 0x2d,
  i64Store: 0x37,
  i32Const: 0x41,
  i64Const: 0x42,
  i32LtU: 0x49,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32And: 0x71,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  i64Sub: 0x7d,
  i64And: 0x83,
  i64Xor: 0x85,
  i64ShrU: 0x88,
  i32WrapI64: 0xa7,
  i64ExtendI32U: 0xad,
} as const;
const I32 = 0x7f;
const I64 = 0x7e;
const FUNC_TYPE = 0x60;
const EMPTY_BLOCK = 0x40;
const SECTION = { type: 1, function: 3, memory: 5, export: 7, code: 10 } as const;
const EXPORT_KIND = { func: 0, memory: 2 } as const;

/**
 * Code as nested arrays of bytes, flattened once where a size is needed (spreading every piece into the next would
 * copy it again at each level and make a megabyte of garbage for a 1 KB module).
 */
type Code = number | readonly Code[];

function flatten(code: Code, out: number[] = []): number[] {
  if (typeof code === 'number') out.push(code);
  else {
    // It runs once, unoptimised: an index rather than for-of (a result object per element), no call per byte.
    for (let i = 0; i < code.length; i++) {
      const part = code[i]!;
      if (typeof part === 'number') out.push(part);
      else flatten(part, out);
    }
  }
  return out;
}

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit value. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const last = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(last ? byte : byte | 0x80);
    if (last) return out;
  }
}

/** Signed LEB128 of a 64-bit value (for the one i64.const that needs it: the polynomial). */
function sleb64(n: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = Number(n & 0x7fn);
    n >>= 7n;
    const last = (n === 0n && (byte & 0x40) === 0) || (n === -1n && (byte & 0x40) !== 0);
    out.push(last ? byte : byte | 0x80);
    if (last) return out;
  }
}

const vec = (items: readonly Code[]): Code => [uleb(items.length), items];
/** A function body or a section's contents, preceded by its size in bytes. */
const sized = (code: Code): Code => {
  const bytes = flatten(code);
  return [uleb(bytes.length), bytes];
};
const section = (id: number, contents: Code): Code => [id, sized(contents)];
const name = (text: string): Code => vec(Array.from(new TextEncoder().encode(text)));
const funcType = (params: number[]): Code => [FUNC_TYPE, vec(params), vec([])];
/** A function's local declarations: [count, type] groups, numbered after its parameters in this order. */
const locals = (...groups: Array<[number, number]>): Code =>
  vec(groups.map(([count, type]) => [uleb(count), type]));
/** A load or store: opcode, then memarg (log2 of the alignment, constant offset added to the address). */
const mem = (op: number, alignLog2: number, offset: number): Code => [op, alignLog2, uleb(offset)];

const get = (local: number): Code => [OP.localGet, local];
const set = (local: number): Code => [OP.localSet, local];
const tee = (local: number): Code => [OP.localTee, local];
const i32 = (value: number): Code => [OP.i32Const, sleb(value)];
const i64 = (value: number | bigint): Code => [
  OP.i64Const,
  typeof value === 'bigint' ? sleb64(value) : sleb(value),
];

// The locals of `update`: the parameters, then the declared ones.
const P = 0;
const N = 1;
const CRC = 2;
const CRC_B = 3;
const END_BLOCKS = 4;
const END_STEPS = 5;
const END = 6;
const STOP = 7;
const W0 = 8;

/** A stream of slicing steps: its register, its first word (local), and where its bytes are (from $p). */
interface Stream {
  crc: number;
  w0: number;
  at: number;
}

/** The table lookup for byte i of a step: its byte of word i / 4, times 8, in table slices - 1 - i. */
function lookup(slices: Slices, s: Stream, i: number): Code {
  const shift = (i & 3) * 8;
  // (w << 3) & 0x7f8 for the lowest byte, (w >>> (shift - 3)) & 0x7f8 for the others: the byte as a byte offset.
  const scaled = shift === 0 ? [i32(3), OP.i32Shl] : [i32(shift - 3), OP.i32ShrU];
  const table = TABLES + (slices - 1 - i) * TABLE_BYTES;
  return [get(s.w0 + (i >> 2)), scaled, i32(0x7f8), OP.i32And, mem(OP.i64Load, 3, table)];
}

/** One slicing step of a stream: the words of its next `slices` bytes, the first two xored with its register. */
function sliceStep(slices: Slices, s: Stream): Code {
  const words: Code[] = [
    // $w0 = i32.load($p) ^ wrap($crc); $w1 = i32.load offset=4 ($p) ^ wrap($crc >> 32)
    [get(P), mem(OP.i32Load, 2, s.at), get(s.crc), OP.i32WrapI64, OP.i32Xor, set(s.w0)],
    [
      get(P),
      mem(OP.i32Load, 2, s.at + 4),
      get(s.crc),
      i64(32),
      OP.i64ShrU,
      OP.i32WrapI64,
      OP.i32Xor,
      set(s.w0 + 1),
    ],
  ];
  // $w2, $w3, ... (slicing-by-16, -32) = i32.load offset=8, offset=12, ... ($p)
  for (let w = 2; w < slices / 4; w++) words.push([get(P), mem(OP.i32Load, 2, s.at + w * 4), set(s.w0 + w)]);
  // The bytes past the first eight do not depend on the register: their lookups form one balanced tree of xors, the
  // first eight's another, and one xor joins them, so the register's path through a step is 4 xors long, not
  // `slices` (a chain of xors in byte order was 1.4× slower).
  const data = Array.from({ length: slices - 8 }, (_, k) => lookup(slices, s, k + 8));
  const reg = Array.from({ length: 8 }, (_, k) => lookup(slices, s, k));
  const sum = data.length === 0 ? xorTree(reg) : [xorTree(data), xorTree(reg), OP.i64Xor];
  return [words, sum, set(s.crc)];
}

/** t0 ^ t1 ^ ... as a balanced tree of i64.xor. */
function xorTree(terms: readonly Code[]): Code {
  if (terms.length === 1) return terms[0]!;
  const half = terms.length >> 1;
  return [xorTree(terms.slice(0, half)), xorTree(terms.slice(half)), OP.i64Xor];
}

/** `block $done (loop $next (br_if $done (i32.ge_u $p $end)) body ($p += stride) (br $next))`. */
function whileBelow(end: number, body: Code, stride: number): Code {
  return [
    [OP.block, EMPTY_BLOCK, OP.loop, EMPTY_BLOCK],
    [get(P), get(end), OP.i32GeU, OP.brIf, 1],
    body,
    [get(P), i32(stride), OP.i32Add, set(P)],
    [OP.br, 0, OP.end, OP.end],
  ];
}

/**
 * $crc carried through HALF zero bytes, Z($crc): linear, so the xor of table k's entry for each byte k of $crc
 * (the shift tables, filled by fillShiftTables below).
 */
function shiftOverHalf(slices: Slices): Code {
  const byte = (k: number): Code => [
    [
      get(CRC),
      k === 0 ? [] : [i64(8 * k), OP.i64ShrU],
      OP.i32WrapI64,
      i32(0xff),
      OP.i32And,
      i32(3),
      OP.i32Shl,
    ],
    mem(OP.i64Load, 3, layout(slices).shiftTables + k * TABLE_BYTES),
  ];
  return xorTree(Array.from({ length: 8 }, (_, k) => byte(k)));
}

/**
 * A block of 2 × HALF bytes as two streams of steps side by side, stream A (the register) over the first half and
 * stream B (from 0) over the second; then, the CRC being linear, register = Z(A) ^ B. Two chains of dependent
 * lookups instead of one keep the CPU busier (slicing-by-16 in two streams ran 10–15% faster than by-32 in one).
 */
function block(slices: Slices): Code {
  const a: Stream = { crc: CRC, w0: W0, at: 0 };
  const b: Stream = { crc: CRC_B, w0: W0 + slices / 4, at: HALF };
  return [
    [i64(0), set(CRC_B), get(P), i32(HALF), OP.i32Add, set(STOP)],
    whileBelow(STOP, [sliceStep(slices, a), sliceStep(slices, b)], slices),
    [shiftOverHalf(slices), get(CRC_B), OP.i64Xor, set(CRC)],
  ];
}

/** The tail: $crc = $crc >> 8 ^ T0[(wrap($crc) ^ i32.load8_u($p)) & 0xff]. */
const byteStep = (): Code => [
  [get(CRC), i64(8), OP.i64ShrU],
  [get(CRC), OP.i32WrapI64, get(P), mem(OP.i32Load8U, 0, 0), OP.i32Xor],
  [i32(0xff), OP.i32And, i32(3), OP.i32Shl, mem(OP.i64Load, 3, TABLES)],
  [OP.i64Xor, set(CRC)],
];

function updateBody(slices: Slices): Code {
  const end = (local: number, mask: number): Code => [
    get(P),
    get(N),
    i32(mask),
    OP.i32And,
    OP.i32Add,
    set(local),
  ];
  return [
    locals([2, I64], [4 + 2 * (slices / 4), I32]),
    [i32(0), mem(OP.i64Load, 3, 0), set(CRC)],
    [end(END_BLOCKS, -2 * HALF), end(END_STEPS, -slices), end(END, -1)],
    // Blocks of two streams, then single steps, then single bytes (block() moves $p over the first half).
    whileBelow(END_BLOCKS, block(slices), HALF),
    whileBelow(END_STEPS, sliceStep(slices, { crc: CRC, w0: W0, at: 0 }), slices),
    whileBelow(END, byteStep(), 1),
    [i32(0), get(CRC), mem(OP.i64Store, 3, 0), OP.end],
  ];
}

/** The ECMA-182 polynomial 0x42F0E1EBA9EA3693 bit-reversed, as the signed value an i64.const holds. */
const POLY = BigInt.asIntN(64, 0xc96c5795d7870f42n);

// The locals of `init`.
const I = 0;
const C = 1;

/**
 * `init` builds the tables in place, as crc64-tables.ts does in JavaScript (the tests compare the two loops):
 *   (loop $entry                          ;; table 0: the byte $i through the polynomial, a bit at a time
 *     (local.set $c (i64.extend_i32_u (local.get $i)))
 *     (local.set $c (i64.xor (i64.shr_u (local.get $c) (i64.const 1))
 *                            (i64.and (i64.const POLY)
 *                                     (i64.sub (i64.const 0) (i64.and (local.get $c) (i64.const 1))))))
 *     ... 8 times
 *     (i64.store offset=TABLES (i32.shl (local.get $i) (i32.const 3)) (local.get $c))
 *     (br_if $entry (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 256))))
 *   (local.set $i (i32.const 0))
 *   (loop $next                           ;; T[k][b] = T[k-1][b] >> 8 ^ T[0][T[k-1][b] & 0xff], $i its byte offset
 *     (i64.store offset=TABLES+2048 (local.get $i)
 *       (i64.xor (i64.shr_u (local.tee $c (i64.load offset=TABLES (local.get $i))) (i64.const 8))
 *                (i64.load offset=TABLES
 *                  (i32.shl (i32.and (i32.wrap_i64 (local.get $c)) (i32.const 0xff)) (i32.const 3)))))
 *     (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 8))) (i32.const (N-1)*2048))))
 */
function initBody(slices: Slices): Code {
  // $c >> 1 ^ (POLY & -($c & 1))
  const lowBit = [get(C), i64(1), OP.i64And];
  const bit = [get(C), i64(1), OP.i64ShrU, i64(POLY), i64(0), lowBit, OP.i64Sub, OP.i64And, OP.i64Xor];
  const table0 = [
    [OP.loop, EMPTY_BLOCK, get(I), OP.i64ExtendI32U, set(C)],
    Array.from({ length: 8 }, () => [bit, set(C)]),
    [get(I), i32(3), OP.i32Shl, get(C), mem(OP.i64Store, 3, TABLES)],
    [get(I), i32(1), OP.i32Add, tee(I), i32(256), OP.i32LtU, OP.brIf, 0, OP.end],
  ];
  const next = [
    [get(I), get(I), mem(OP.i64Load, 3, TABLES), tee(C), i64(8), OP.i64ShrU],
    [get(C), OP.i32WrapI64, i32(0xff), OP.i32And, i32(3), OP.i32Shl, mem(OP.i64Load, 3, TABLES)],
    [OP.i64Xor, mem(OP.i64Store, 3, TABLES + TABLE_BYTES)],
  ];
  const later = [
    [i32(0), set(I), OP.loop, EMPTY_BLOCK, next],
    [get(I), i32(8), OP.i32Add, tee(I), i32((slices - 1) * TABLE_BYTES), OP.i32LtU, OP.brIf, 0, OP.end],
  ];
  return [locals([1, I32], [1, I64]), table0, later, OP.end];
}

/** The whole module: types (i32, i32) -> () and () -> (), the functions update and init, one memory. */
export function crc64WasmBytes(slices: Slices): Uint8Array {
  const exports = [
    [name('memory'), EXPORT_KIND.memory, 0],
    [name('update'), EXPORT_KIND.func, 0],
    [name('init'), EXPORT_KIND.func, 1],
  ];
  const parts = [
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(SECTION.type, vec([funcType([I32, I32]), funcType([])])),
    section(SECTION.function, vec([0, 1])),
    section(SECTION.memory, vec([[0x01, uleb(layout(slices).pages), uleb(layout(slices).pages)]])),
    section(SECTION.export, vec(exports)),
    section(SECTION.code, vec([sized(updateBody(slices)), sized(initBody(slices))])),
  ];
  return new Uint8Array(flatten(parts));
}

/**
 * Fills the shift tables: Z carries a register through HALF zero bytes, and is linear, so table k holds, for each
 * value v of byte k, the xor of the images of v's bits; the image of each of the 64 one-bit registers comes from
 * `update` itself, run over HALF bytes of the still-zero window (fewer than a block: one stream, no Z needed).
 */
function fillShiftTables(view: DataView, update: (p: number, n: number) => void, slices: Slices): void {
  const { shiftTables, window } = layout(slices);
  const lo = new Int32Array(64);
  const hi = new Int32Array(64);
  for (let bit = 0; bit < 64; bit++) {
    view.setInt32(0, bit < 32 ? 1 << bit : 0, true);
    view.setInt32(4, bit < 32 ? 0 : 1 << (bit - 32), true);
    update(window, HALF);
    lo[bit] = view.getInt32(0, true);
    hi[bit] = view.getInt32(4, true);
  }
  // Entry v of table k = entry (v without its lowest set bit) ^ the image of that bit; entry 0 stays 0.
  for (let k = 0; k < 8; k++) {
    for (let v = 1; v < 256; v++) {
      const low = v & -v;
      const bit = 8 * k + 31 - Math.clz32(low);
      const from = shiftTables + (k * 256 + (v ^ low)) * 8;
      const to = shiftTables + (k * 256 + v) * 8;
      view.setInt32(to, view.getInt32(from, true) ^ lo[bit]!, true);
      view.setInt32(to + 4, view.getInt32(from + 4, true) ^ hi[bit]!, true);
    }
  }
}

/**
 * A step function backed by a fresh instance of the module (shared by every Crc64 that uses it: calls are
 * synchronous, and the register goes in and out of wasm memory on each), or undefined without WebAssembly.
 */
export function createWasmStep(slices: Slices = DEFAULT_SLICES): Crc64Step | undefined {
  if (typeof WebAssembly === 'undefined') return undefined;
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(crc64WasmBytes(slices)));
  const buffer = (exports.memory as { buffer: ArrayBuffer }).buffer;
  const update = exports.update as (p: number, n: number) => void;
  const heap = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const { window } = layout(slices);
  (exports.init as () => void)();
  fillShiftTables(view, update, slices);
  return (reg: Crc64Register, chunk: Uint8Array): void => {
    view.setInt32(0, reg.lo, true);
    view.setInt32(4, reg.hi, true);
    const n = chunk.length;
    for (let from = 0; from < n; from += WINDOW_SIZE) {
      const len = Math.min(WINDOW_SIZE, n - from);
      heap.set(len === n ? chunk : chunk.subarray(from, from + len), window);
      update(window, len);
    }
    reg.lo = view.getInt32(0, true);
    reg.hi = view.getInt32(4, true);
  };
}
