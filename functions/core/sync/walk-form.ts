/**
 * Finds every attachment object in a form. Tenants add their own attachment fields (`u_附件`, inside detail
 * lines too), so no list of paths is complete: walk the whole JSON (form, detail lines, invoice forms, custom
 * fields, approval logs) and take every object that has a fileId (string or number) and a string key.
 */
import { parseDpKey } from '../attachments/ref.js';
import type { EkuaibaoForm } from '../model/forms.js';
import type { CopyRef } from '../model/refs.js';

/** Deeper than any real form; stops a pathological (or cyclic) document from blowing the stack. */
const MAX_DEPTH = 64;

/** Template values a sync ref carries so object keys can name the form. */
export interface FormVars {
  flowId: string;
  flowCode: string;
  formType: string;
}

export interface FormAttachments {
  vars: FormVars;
  /** One ref per distinct id+key inside this form, in the order first met. */
  refs: CopyRef[];
  /** Where each ref was first met, parallel to refs (e.g. `$.form.details[0].feeTypeForm.attachments[1]`). */
  paths: string[];
  /** Objects that looked like attachments but had an empty fileId or key: reported, not sent. */
  invalid: Array<{ path: string; reason: string }>;
}

/** A form 合思 shows as deleted: `active: false`, or a deleted state. */
export function isDeletedForm(form: EkuaibaoForm): boolean {
  return form.active === false || form.state === 'deleted';
}

export function formVars(form: EkuaibaoForm): FormVars {
  const inner = form.form;
  const innerCode = inner && typeof inner.code === 'string' ? inner.code : undefined;
  const code = typeof form.code === 'string' && form.code !== '' ? form.code : innerCode;
  return {
    flowId: String(form.id),
    // A form without a code (drafts) is still findable by its id.
    flowCode: code !== undefined && code !== '' ? code : String(form.id),
    formType: typeof form.formType === 'string' && form.formType !== '' ? form.formType : 'unknown',
  };
}

function fileNameOf(o: Record<string, unknown>, key: string): string | undefined {
  if (typeof o.fileName === 'string' && o.fileName.trim() !== '') return o.fileName;
  if (typeof o.name === 'string' && o.name.trim() !== '') return o.name;
  try {
    return parseDpKey(key)?.fileName;
  } catch {
    // A broken DP: key is still sent: 合思 decides whether it knows it, and the job report says so.
    return undefined;
  }
}

export function findFormAttachments(form: EkuaibaoForm): FormAttachments {
  const vars = formVars(form);
  const refs: CopyRef[] = [];
  const paths: string[] = [];
  const invalid: FormAttachments['invalid'] = [];
  const seen = new Set<string>();
  const visiting = new Set<object>();

  const walk = (value: unknown, path: string, depth: number): void => {
    if (value === null || typeof value !== 'object' || depth > MAX_DEPTH || visiting.has(value)) return;
    visiting.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) walk(value[i], `${path}[${i}]`, depth + 1);
    } else {
      const o = value as Record<string, unknown>;
      const rawId = o.fileId;
      const idOk = typeof rawId === 'string' || (typeof rawId === 'number' && Number.isFinite(rawId));
      if (idOk && typeof o.key === 'string') {
        const id = String(rawId).trim();
        const key = o.key;
        if (id === '' || key === '') {
          invalid.push({ path, reason: id === '' ? 'empty fileId' : 'empty key' });
        } else {
          const identity = `${id}\u0000${key}`;
          if (!seen.has(identity)) {
            seen.add(identity);
            const ref: CopyRef = { id, key, vars: { ...vars } };
            const fileName = fileNameOf(o, key);
            if (fileName !== undefined) ref.fileName = fileName;
            refs.push(ref);
            paths.push(path);
          }
        }
      }
      for (const [name, child] of Object.entries(o)) walk(child, `${path}.${name}`, depth + 1);
    }
    visiting.delete(value);
  };

  // Top-level fields besides form/logs (e.g. a tenant's own top-level fields) are walked too.
  walk(form, '$', 0);
  return { vars, refs, paths, invalid };
}
