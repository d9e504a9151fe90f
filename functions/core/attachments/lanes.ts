/**
 * The bucket's lanes. Archived files live in the archive lanes: the roots of the configured key templates
 * (`attachments/`, `forms/`) plus any prefixes configured on top (EKB_ARCHIVE_PREFIXES). The system keeps its own
 * objects in the system lanes: job records and batch reports (the report prefix, `jobs/`), the sync's state
 * (`sync/`), manifests (`manifests/`: a write there starts a job), and two reserved for what comes next (`hooks/`
 * for push events, `verify/` for verify runs). No archive lane may overlap a system lane, and every object key a
 * job writes, whatever its source (template, targetKey, manifest line, request, sync), must lie inside an archive
 * lane, which then puts it outside every system lane. IAM grants the copy function writes on the archive lanes only
 * (plus its batch reports), so the rule holds even if this check were bypassed.
 */
import { ErrorCode } from '../errors.js';
import { objectKeyProblem, templateSyntaxProblem } from './object-key.js';

export interface SystemLane {
  prefix: string;
  /** What the system keeps there, for refusal messages. */
  holds: string;
}

export interface Lanes {
  /** Prefixes archived files may be written under, each ending in `/`. */
  archive: readonly string[];
  system: readonly SystemLane[];
}

/** A refused key or template: a stable code (the rule) and a message naming the rule and the lane. */
export interface LaneRefusal {
  code: ErrorCode;
  message: string;
}

export const SYNC_LANE = 'sync/';
export const MANIFESTS_LANE = 'manifests/';
export const HOOKS_LANE = 'hooks/';
export const VERIFY_LANE = 'verify/';
/** The roots of the two default templates: what a deployment without settings may archive into. */
export const DEFAULT_ARCHIVE_LANES: readonly string[] = ['attachments/', 'forms/'];

export function systemLanes(reportPrefix: string): SystemLane[] {
  return [
    { prefix: reportPrefix, holds: 'job records and batch reports' },
    { prefix: SYNC_LANE, holds: "the scheduled sync's state" },
    { prefix: MANIFESTS_LANE, holds: 'manifests; a write there starts a job' },
    { prefix: HOOKS_LANE, holds: 'reserved for push events' },
    { prefix: VERIFY_LANE, holds: 'reserved for verify runs' },
  ];
}

/** `attachments`, `/attachments/` → `attachments/`; '' stays '' (and is refused by buildLanes). */
export function normalizeLane(prefix: string): string {
  const trimmed = prefix.trim().replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

const overlaps = (a: string, b: string): boolean => a.startsWith(b) || b.startsWith(a);
const quoted = (lanes: readonly string[]): string => lanes.map((l) => `"${l}"`).join(', ');

/**
 * A template's fixed root: its literal text before the first placeholder, cut back to the last `/`
 * (`forms/{formType}/…` → `forms/`). '' when the template starts with a placeholder or has no `/` before one.
 */
export function templateRoot(template: string): string {
  const brace = template.indexOf('{');
  const fixed = brace < 0 ? template : template.slice(0, brace);
  return fixed.slice(0, fixed.lastIndexOf('/') + 1);
}

/** Sample values of the right shape: a fixed part that can never make a valid key shows up in the sample. */
function sampleKey(template: string): string {
  return template.replace(/\{([^{}]*)\}/g, (_m, name: string) => (name === 'ext' ? 'pdf' : `s${name}`));
}

/**
 * Where a template's keys can land. `configured` templates define the archive lanes, so only the system lanes
 * bound them; a job's own template (a request's keyTemplate, a CLI flag checked against the config) must also put
 * its root inside an archive lane.
 */
export function keyTemplateProblem(
  template: string,
  lanes: Lanes,
  options: { configured?: boolean } = {},
): LaneRefusal | undefined {
  const bad = (message: string): LaneRefusal => ({ code: ErrorCode.InvalidKeyTemplate, message });
  if (template.trim() === '') return bad('key template is empty');
  const syntax = templateSyntaxProblem(template);
  if (syntax) return bad(`key template ${syntax}`);
  const sample = objectKeyProblem(sampleKey(template));
  if (sample) return bad(`key template can never make a valid key: it ${sample}`);
  const root = templateRoot(template);
  if (root === '') {
    return bad(
      'key template must start with a fixed folder such as "attachments/" (a placeholder there could name any folder)',
    );
  }
  const system = lanes.system.find((s) => overlaps(root, s.prefix));
  if (system) {
    return bad(`key template root "${root}" is in the system lane "${system.prefix}" (${system.holds})`);
  }
  if (!options.configured && !lanes.archive.some((a) => root.startsWith(a))) {
    return bad(`key template root "${root}" is outside the archive lanes (${quoted(lanes.archive)})`);
  }
  return undefined;
}

/** Whether a finished object key may be written by a job: inside an archive lane, outside every system lane. */
export function laneProblem(key: string, lanes: Lanes): LaneRefusal | undefined {
  const system = lanes.system.find((s) => key.startsWith(s.prefix));
  if (system) {
    return {
      code: ErrorCode.TargetInSystemLane,
      message: `object key "${key}" is in the system lane "${system.prefix}" (${system.holds})`,
    };
  }
  if (!lanes.archive.some((a) => key.startsWith(a))) {
    return {
      code: ErrorCode.TargetOutsideArchiveLanes,
      message: `object key "${key}" is outside the archive lanes (${quoted(lanes.archive)})`,
    };
  }
  return undefined;
}

export interface LaneSettings {
  /** The configured templates (API/manifest jobs and the sync): their roots are archive lanes. */
  templates: readonly string[];
  /** More archive lanes (EKB_ARCHIVE_PREFIXES). */
  extraArchive?: readonly string[];
  /** Where job records and batch reports go (EKB_REPORT_PREFIX, default `jobs/`). */
  reportPrefix: string;
}

/** The lanes of a deployment, and every reason its settings cannot make sound lanes (all at once). */
export function buildLanes(settings: LaneSettings): { lanes: Lanes; problems: string[] } {
  const problems: string[] = [];
  const reportPrefix = normalizeLane(settings.reportPrefix);
  if (reportPrefix === '') problems.push('the report prefix must name a folder such as "jobs/"');
  const system = systemLanes(reportPrefix === '' ? 'jobs/' : reportPrefix);
  const archive: string[] = [];
  const add = (lane: string, from: string): void => {
    const clash = system.find((s) => overlaps(lane, s.prefix));
    if (clash) problems.push(`${from} overlaps the system lane "${clash.prefix}" (${clash.holds})`);
    else if (!archive.includes(lane)) archive.push(lane);
  };
  for (const template of settings.templates) {
    const problem = keyTemplateProblem(template, { archive: [], system }, { configured: true });
    if (problem) problems.push(`"${template}": ${problem.message}`);
    else add(templateRoot(template), `the root "${templateRoot(template)}" of "${template}"`);
  }
  for (const raw of settings.extraArchive ?? []) {
    const lane = normalizeLane(raw);
    const problem = lane === '' ? 'is empty' : objectKeyProblem(`${lane}x`);
    if (problem) problems.push(`archive prefix "${raw}" ${problem}`);
    else add(lane, `archive prefix "${lane}"`);
  }
  return { lanes: { archive, system }, problems };
}

/**
 * Lanes for callers handed no configured lanes (tests, older wiring): the given template's root plus the default
 * lanes. The system lanes still hold: a template rooted in one adds no lane and is refused where it is used.
 */
export function fallbackLanes(template: string | undefined, reportPrefix = 'jobs/'): Lanes {
  const templates = template === undefined ? [] : [template];
  const { lanes } = buildLanes({ templates, extraArchive: DEFAULT_ARCHIVE_LANES, reportPrefix });
  return lanes;
}
