/**
 * Kept for callers that imported the ports from here: the contracts themselves live in types.ts.
 */
import type { JobItem } from './types.js';

export type { BatchQueue } from './types.js';

/** One manifest line or API item: a usable ref (with its 1-based line), or a bad input to report. */
export type ManifestItem = JobItem;
