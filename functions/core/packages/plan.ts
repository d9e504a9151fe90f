/**
 * Planning packages for up to 100 forms at a time: which forms are sealed (final state, not yet archived in this
 * version), and every file of each, from three calls for the whole chunk — flowDetails/attachment (≤100 forms a
 * call), INVOICE/search and INVOICE/url (for the invoice files' names and crop flags). The signed URLs these
 * answers carry are dropped here: messages carry what identifies a file, never a URL.
 */
import pLimit from 'p-limit';
import type { InvoiceFile } from '../model/form-files.js';
import type { EkuaibaoForm } from '../model/forms.js';
import type { PackageInfo } from '../model/package.js';
import type { DownloadRef } from '../model/refs.js';
import type { FormPackageSource } from '../ports.js';
import { formVars } from '../sync/walk-form.js';
import { indexKey, packageRoot, packageVersion } from './layout.js';
import { packageFiles } from './package-files.js';
import { archivability } from './states.js';

/** Index reads in flight while checking which packages exist already. */
const INDEX_CHECKS_IN_FLIGHT = 8;

export interface PlanDeps {
  source: Pick<FormPackageSource, 'getFlowAttachments' | 'searchInvoices' | 'getInvoiceUrls'>;
  /** True when this version's index exists and says complete (a re-run skips the package, vendor calls and all). */
  archived?: (indexKey: string) => Promise<boolean>;
  /** States to seal (EKB_PACKAGE_STATES). */
  states: readonly string[];
  signal?: AbortSignal;
}

export interface PlannedPackage {
  info: PackageInfo;
  files: DownloadRef[];
}

/** A form that is recorded and not sealed: deleted, or not in a state to archive. */
export interface HeldForm {
  flowId: string;
  code: string;
  state: string;
  reason: string;
}

export interface PlanResult {
  packages: PlannedPackage[];
  held: HeldForm[];
  /** Forms whose version is archived whole already. */
  unchanged: PackageInfo[];
  /** Attachment-like objects with an empty fileId or key (not archivable). */
  invalidAttachments: number;
}

export function packageInfoOf(form: EkuaibaoForm): PackageInfo {
  const vars = formVars(form);
  const updateTime = form.updateTime as number;
  return {
    flowId: vars.flowId,
    code: vars.flowCode,
    formType: vars.formType,
    updateTime,
    version: packageVersion(updateTime),
    state: typeof form.state === 'string' ? form.state : '',
    root: packageRoot(vars.formType, vars.flowCode),
  };
}

export async function planPackages(forms: readonly EkuaibaoForm[], deps: PlanDeps): Promise<PlanResult> {
  const result: PlanResult = { packages: [], held: [], unchanged: [], invalidAttachments: 0 };
  const sealed: Array<{ form: EkuaibaoForm; info: PackageInfo }> = [];
  for (const form of forms) {
    const verdict = archivability(form, deps.states);
    if (!verdict.ok) {
      const vars = formVars(form);
      result.held.push({
        flowId: vars.flowId,
        code: vars.flowCode,
        state: typeof form.state === 'string' ? form.state : '',
        reason: verdict.reason,
      });
      continue;
    }
    sealed.push({ form, info: packageInfoOf(form) });
  }
  const todo = await withoutArchived(sealed, deps, result);
  if (todo.length === 0) return result;

  const ids = todo.map((t) => t.info.flowId);
  const [flows, invoices] = await Promise.all([
    deps.source.getFlowAttachments(ids, deps.signal),
    deps.source.searchInvoices('id', ids, deps.signal),
  ]);
  const invoiceIds = [...new Set([...invoices.values()].flat().map((i) => i.invoiceId))];
  const invoiceFiles = new Map<string, InvoiceFile>();
  if (invoiceIds.length > 0) {
    for (const file of await deps.source.getInvoiceUrls(invoiceIds, deps.signal))
      invoiceFiles.set(file.id, file);
  }
  const byFlow = new Map(flows.map((f) => [f.flowId, f]));
  for (const { form, info } of todo) {
    const files = packageFiles({
      form,
      root: info.root,
      flow: byFlow.get(info.flowId),
      invoices: invoices.get(info.flowId) ?? [],
      invoiceFiles,
    });
    result.invalidAttachments += files.invalid;
    result.packages.push({ info, files: files.refs });
  }
  return result;
}

async function withoutArchived<T extends { info: PackageInfo }>(
  sealed: T[],
  deps: PlanDeps,
  result: PlanResult,
): Promise<T[]> {
  const { archived } = deps;
  if (!archived) return sealed;
  const done = await pLimit(INDEX_CHECKS_IN_FLIGHT).map(sealed, ({ info }) =>
    archived(indexKey(info.root, info.version)),
  );
  return sealed.filter((s, i) => {
    if (done[i]) result.unchanged.push(s.info);
    return !done[i];
  });
}
