/** S3 multipart limits: at most 10,000 parts, each 5 MiB..5 GiB (the last one may be smaller). */
export const MAX_PARTS = 10_000;
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
/** Parts uploaded in parallel per file: memory per file ≈ (this + 1) × part size. */
export const DEFAULT_PART_CONCURRENCY = 4;
const MIB = 1024 * 1024;

/**
 * The part size for one upload: the configured floor (default 8 MiB), raised in whole MiB when the file is so large
 * that the floor would need more than 10,000 parts. Unknown length → the floor (8 MiB × 10,000 ≈ 78 GiB, far above
 * any attachment). Memory per file is about (part concurrency + 1) × part size, whatever the file size.
 */
export function choosePartSize(contentLength: number | undefined, floorBytes = DEFAULT_PART_BYTES): number {
  const floor = Math.min(Math.max(floorBytes, MIN_PART_BYTES), MAX_PART_BYTES);
  if (contentLength === undefined || !Number.isFinite(contentLength) || contentLength <= 0) return floor;
  const needed = Math.ceil(contentLength / MAX_PARTS / MIB) * MIB;
  return Math.min(Math.max(floor, needed), MAX_PART_BYTES);
}
