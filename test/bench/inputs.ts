/**
 * The benchmark's inputs, the same on every run: file ids, keys and sizes are derived from names and indexes only,
 * and the sandbox generates every body from its id (AES-CTR keystream), so two runs move the same bytes. The parent
 * registers these files in the sandbox; the child processes rebuild the same refs from the set's name.
 */
import type { CopyRef } from '../../functions/core/model/refs.js';
import type { SandboxFile } from '../../infra/local/sandbox/types.js';

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;

/** Parts uploaded in parallel per file: the S3 sink's default (DEFAULT_PART_CONCURRENCY in functions/aws/s3-sink.ts). */
export const PART_QUEUE_SIZE = 4;

/** Sizes of the single large file (section 1 uses 1 GiB; section 2 shows memory flat across all three). */
export const LARGE_SIZES = { '256MiB': 256 * MIB, '1GiB': GIB, '4GiB': 4 * GIB } as const;
export type LargeSize = keyof typeof LARGE_SIZES;

export const SMALL_SETS = {
  /** 2,000 × 64 KiB: per-file overhead dominates (HEAD, GET, PutObject round trips). */
  'small-64KiB': { count: 2_000, size: 64 * KIB },
  /** 200 × 5 MiB: each file is still one PutObject (under the 8 MiB part floor), bytes start to matter. */
  'medium-5MiB': { count: 200, size: 5 * MIB },
  /** Refs for the vendor API section only (never downloaded). */
  'api-refs': { count: 5_000, size: 1_000 },
} as const;
export type SmallSet = keyof typeof SMALL_SETS;

/** A fixed UUID-shaped key prefix like the vendor's `openapi<uuid>-<name>` keys. */
function vendorKey(n: number, name: string): string {
  const hex = n.toString(16).padStart(12, '0');
  return `openapi0b3c4d5e-6f7a-4b8c-9d0e-${hex}-${name}`;
}

export function largeFile(size: LargeSize): SandboxFile {
  return {
    id: `bench-large-${size}`,
    key: vendorKey(LARGE_SIZES[size], `bench ${size}.bin`),
    fileName: `bench ${size}.bin`,
    size: LARGE_SIZES[size],
  };
}

export function setFiles(set: SmallSet, count: number = SMALL_SETS[set].count): SandboxFile[] {
  const { size } = SMALL_SETS[set];
  return Array.from({ length: count }, (_, i) => {
    const name = `${set}-${String(i).padStart(5, '0')}.bin`;
    return { id: `bench-${set}-${i}`, key: vendorKey(i, name), fileName: name, size };
  });
}

export const refOf = (f: SandboxFile): CopyRef => ({ id: f.id, key: f.key });
