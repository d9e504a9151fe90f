/** The 合思 client's limits when its options leave them out (the functions' settings default to these too). */
export const DEFAULT_RESOLVE_CONCURRENCY = 4;
/** Tries per call including the first: transient faults get three more chances, then the caller hears. */
export const DEFAULT_MAX_ATTEMPTS = 4;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
