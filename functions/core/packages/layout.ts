/**
 * Where a form package lives in the bucket (README, "Form packages"):
 *
 *   forms/<formType>/<flowCode>/files/<role>/<name>        every file, shared by all versions of the package
 *   forms/<formType>/<flowCode>/<version>/form.json        the form's JSON and approval log as fetched
 *   forms/<formType>/<flowCode>/<version>/print.pdf        the print-template PDF, when 合思 can make one
 *   forms/<formType>/<flowCode>/<version>/package.json     the index, written last
 *
 * The version is the form's updateTime, so an unchanged form maps to the same folder (a re-run finds its index and
 * skips it) and a changed one gets a new folder while the old stays. Files sit outside the versions: a file that
 * did not change between versions is the same object, archived once.
 */
import { MAX_FILE_NAME_BYTES, sanitizeFileName } from '../attachments/object-key.js';
import type { PackageFileRole, PackagePart } from '../model/package.js';

/** The archive lane of form packages. */
export const PACKAGES_PREFIX = 'forms/';
/** Ids, codes and types as one key segment are short; longer values are cut (they stay unique in practice). */
const MAX_SEGMENT_BYTES = 128;

const segment = (value: string): string => sanitizeFileName(value, 'unknown', MAX_SEGMENT_BYTES);

/** `forms/<formType>/<flowCode>/`. */
export function packageRoot(formType: string, flowCode: string): string {
  return `${PACKAGES_PREFIX}${segment(formType)}/${segment(flowCode)}/`;
}

/**
 * The version folder of a form's updateTime: ISO 8601 basic format in UTC with milliseconds
 * (`20260302T011500.000Z`), so folders sort by time and two updates in one second stay apart.
 */
export function packageVersion(updateTime: number): string {
  return new Date(updateTime).toISOString().replace(/[-:]/g, '');
}

export function partKey(root: string, version: string, part: PackagePart): string {
  return `${root}${version}/${part}`;
}

export function indexKey(root: string, version: string): string {
  return partKey(root, version, 'package.json');
}

/**
 * `files/<role>/<name>`, the name made safe as one key segment (CJK kept, no path characters, length capped).
 * `n` > 1 marks the n-th file that would otherwise get the same name (`报销单~2.pdf`): the mark goes in after the
 * name is cut to size, so it always survives.
 */
export function fileKey(root: string, role: PackageFileRole, name: string, n = 1): string {
  const mark = n > 1 ? `~${n}` : '';
  const safe = sanitizeFileName(name, 'file', MAX_FILE_NAME_BYTES - mark.length);
  const dot = safe.lastIndexOf('.');
  const marked =
    mark === '' ? safe : dot > 0 ? `${safe.slice(0, dot)}${mark}${safe.slice(dot)}` : `${safe}${mark}`;
  return `${root}files/${role}/${marked}`;
}
