/**
 * Which forms to archive, as asked by `POST /form-archives` or `ekb-archive archive-forms`:
 *   {"codes": ["B24000123", …]}   form codes (单据编号)
 *   {"ids": ["ID01…", …]}          form ids
 *   {"since": "2024-01-01", "until"?: "2024-01-31 23:59:59", "formTypes"?: ["expense", …]}   forms updated then
 * Checked whole before anything is queued; a bad item is a ValidationError (400) naming the item and the field.
 * The request travels to fan-out as a small JSON object under manifests/form-archives/<jobId>.json, and there
 * becomes the stream of forms a package job is planned from (requestForms).
 */
import { listForms } from '../ekuaibao/list-forms.js';
import { ValidationError } from '../errors.js';
import { FORM_TYPES, type FormType } from '../model/forms.js';
import type { FormsSource } from '../ports.js';
import { formatChinaTime, parseStartDate } from '../sync/china-time.js';
import type { Sleep } from '../util/backoff.js';
import { jsonObject } from '../util/json-body.js';
import type { FormItem } from './package-job.js';

/** Codes or ids one request may name; longer lists belong in several requests (or a date range). */
export const MAX_REQUEST_FORMS = 1_000;
/** Where fan-out finds form-archive requests (an S3 notification on manifests/ starts it). */
export const FORM_ARCHIVES_PREFIX = 'manifests/form-archives/';
const MAX_ID_CHARS = 128;

export type FormArchiveRequest =
  | { kind: 'codes'; codes: string[] }
  | { kind: 'ids'; ids: string[] }
  | { kind: 'range'; since: string; until?: string; formTypes?: FormType[] };

/** What fan-out reads from manifests/form-archives/<jobId>.json. */
export interface StoredFormArchiveRequest {
  v: 1;
  jobId: string;
  requestedAt: string;
  request: FormArchiveRequest;
  /** Set by the outbound-message hooks (core/hooks/): which path asked, for the job report. */
  origin?: HookOrigin;
}

export interface HookOrigin {
  via: 'push' | 'replay';
  flowId: string;
}

function hookOrigin(raw: unknown): HookOrigin | undefined {
  const o = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  return (o.via === 'push' || o.via === 'replay') && typeof o.flowId === 'string'
    ? { via: o.via, flowId: o.flowId }
    : undefined;
}

export const formArchiveRequestKey = (jobId: string): string => `${FORM_ARCHIVES_PREFIX}${jobId}.json`;

function items(field: 'codes' | 'ids', raw: unknown): string[] {
  if (!Array.isArray(raw)) throw new ValidationError(`"${field}" must be an array of strings`);
  if (raw.length === 0) throw new ValidationError(`"${field}" is empty`);
  if (raw.length > MAX_REQUEST_FORMS) {
    throw new ValidationError(`"${field}" has ${raw.length} items; at most ${MAX_REQUEST_FORMS} per request`);
  }
  const out: string[] = [];
  raw.forEach((v, i) => {
    if (typeof v !== 'string' || v.trim() === '') {
      throw new ValidationError(`${field}[${i}] must be a non-empty string`);
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (v.length > MAX_ID_CHARS || /[\u0000-\u001f\u007f]/.test(v)) {
      throw new ValidationError(`${field}[${i}] must be at most ${MAX_ID_CHARS} printable characters`);
    }
    out.push(v.trim());
  });
  return [...new Set(out)];
}

function date(field: 'since' | 'until', raw: unknown): number {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new ValidationError(
      `"${field}" must be a date such as 2024-01-01 or "2024-01-01 08:00:00" (China time)`,
    );
  }
  try {
    return parseStartDate(raw, `"${field}"`);
  } catch (err) {
    throw new ValidationError((err as Error).message);
  }
}

function formTypes(raw: unknown): FormType[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.length === 0)
    throw new ValidationError('"formTypes" must be a non-empty array');
  raw.forEach((t, i) => {
    if (!(FORM_TYPES as readonly unknown[]).includes(t)) {
      throw new ValidationError(`formTypes[${i}] must be one of ${FORM_TYPES.join(', ')}`);
    }
  });
  return [...new Set(raw as FormType[])];
}

/** The request as checked; `now` bounds `until` (a range may not end in the future's unknown). */
export function parseFormArchiveRequest(body: unknown, now: () => number = Date.now): FormArchiveRequest {
  const o = jsonObject(body, '{"codes": [...]}, {"ids": [...]} or {"since": "…"}');
  const given = (['codes', 'ids', 'since'] as const).filter((k) => o[k] !== undefined);
  if (given.length !== 1) {
    throw new ValidationError('send exactly one of "codes", "ids" and "since" (with an optional "until")');
  }
  const unknown = Object.keys(o).filter((k) => !['codes', 'ids', 'since', 'until', 'formTypes'].includes(k));
  if (unknown.length > 0) throw new ValidationError(`unknown field "${unknown[0]}"`);
  if (given[0] !== 'since' && (o.until !== undefined || o.formTypes !== undefined)) {
    throw new ValidationError('"until" and "formTypes" go with "since" only');
  }
  if (given[0] === 'codes') return { kind: 'codes', codes: items('codes', o.codes) };
  if (given[0] === 'ids') return { kind: 'ids', ids: items('ids', o.ids) };
  const since = date('since', o.since);
  const until = o.until === undefined ? undefined : date('until', o.until);
  if (until !== undefined && until < since) throw new ValidationError('"until" must not be before "since"');
  if (since > now()) throw new ValidationError('"since" is in the future');
  const types = formTypes(o.formTypes);
  return {
    kind: 'range',
    since: formatChinaTime(since),
    ...(until === undefined ? {} : { until: formatChinaTime(until) }),
    ...(types === undefined ? {} : { formTypes: types }),
  };
}

/** A stored request as fan-out reads it back (the object may have been written by hand). */
export function readStoredRequest(raw: unknown): StoredFormArchiveRequest {
  const o = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  if (o.v !== 1 || typeof o.request !== 'object' || o.request === null) {
    throw new ValidationError('form-archive request must be {"v": 1, "request": {…}}');
  }
  const r = o.request as Record<string, unknown>;
  // The stored shape carries its kind; re-check it as the API would (a hand-written object too).
  const body =
    r.kind === 'codes'
      ? { codes: r.codes }
      : r.kind === 'ids'
        ? { ids: r.ids }
        : { since: r.since, until: r.until, formTypes: r.formTypes };
  const request = parseFormArchiveRequest(
    Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)),
    () => Number.POSITIVE_INFINITY,
  );
  const origin = hookOrigin(o.origin);
  return {
    v: 1,
    jobId: typeof o.jobId === 'string' ? o.jobId : '',
    requestedAt: typeof o.requestedAt === 'string' ? o.requestedAt : '',
    request,
    ...(origin ? { origin } : {}),
  };
}

export interface RequestFormsDeps {
  forms: FormsSource;
  now: () => number;
  signal?: AbortSignal;
  /** Pause between getApplyList pages (range requests). */
  pagePauseMs?: number;
  sleep?: Sleep;
}

/**
 * The forms a request names, as they are fetched: one flowDetails call per code or id (a form 合思 does not know
 * is a bad line naming it), or every form of the range, type by type, page by page.
 */
export async function* requestForms(
  request: FormArchiveRequest,
  deps: RequestFormsDeps,
): AsyncGenerator<FormItem> {
  if (request.kind === 'range') {
    const endDate = request.until ?? formatChinaTime(deps.now());
    for (const type of request.formTypes ?? FORM_TYPES) {
      const listing = listForms(
        deps.forms,
        {
          type,
          startDate: request.since,
          endDate,
          ...(deps.pagePauseMs === undefined ? {} : { pauseMs: deps.pagePauseMs }),
          ...(deps.signal ? { signal: deps.signal } : {}),
        },
        deps.sleep,
      );
      for await (const form of listing) yield { form };
    }
    return;
  }
  const field = request.kind;
  const values = request.kind === 'codes' ? request.codes : request.ids;
  for (const [i, value] of values.entries()) {
    const by = request.kind === 'codes' ? { code: value } : { flowId: value };
    const form = await deps.forms.getFlowDetails(by, deps.signal);
    yield form
      ? { form }
      : {
          bad: {
            line: i + 1,
            message: `${field}[${i}] ${value}: 合思 has no such form (unknown or deleted)`,
          },
        };
  }
}
