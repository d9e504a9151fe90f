/**
 * The storage objects behind the form-package hosts (files-dd/, vipimg/), by storage key: every registered
 * attachment file (the same bytes as its downloadurls URL serves), invoice files and bank receipts. And what an
 * `x-oss-process` image operation serves instead of the stored object.
 */
import { THUMB_PROCESS } from './signing.js';

export interface StoredObject {
  key: string;
  fileName: string;
  size: number;
  /** Content seed of the generated body. */
  seed: string;
  contentType: string;
  withoutCrc64?: boolean;
}

/** The OCR crops 合思 puts on invoice images: `image/crop,w_1650,h_1665,x_0,y_0,g_nw`. */
const CROP = /^image\/crop(,[whxy]_\d{1,5}){2,4}(,g_[a-z]{1,6})?$/;
/** Thumbnails are small stand-ins (any image bytes do; nobody decodes them). */
export const THUMB_SIZE = 2048;

export function isSupportedProcess(process: string): boolean {
  return process === THUMB_PROCESS || CROP.test(process);
}

/**
 * The body an image operation produces: deterministic, derived from the stored bytes' seed and the operation,
 * and not the stored object (so it carries none of the stored object's checksums).
 */
export function processedBody(seed: string, size: number, process: string): { seed: string; size: number } {
  if (process === THUMB_PROCESS) return { seed: `${seed}#thumb`, size: Math.min(THUMB_SIZE, size) };
  return { seed: `${seed}#${process}`, size: Math.max(1, Math.floor((size * 3) / 4)) };
}
