import { describe, expect, it } from 'vitest';
import type { EkuaibaoForm } from '../../../../functions/core/model/forms.js';
import type { JobRecord } from '../../../../functions/core/model/job.js';
import { createPackageJob, type FormItem } from '../../../../functions/core/packages/package-job.js';
import type { FormPackageSource } from '../../../../functions/core/ports.js';
import { memoryStore, recordingQueue } from '../jobs/job-fakes.js';

/** A form in a final state with `files` attachments. */
const formWith = (id: string, files: number, state = 'paid'): EkuaibaoForm => ({
  id,
  code: `C-${id}`,
  formType: 'custom',
  state,
  updateTime: 1_772_000_000_000,
  form: {
    attachments: Array.from({ length: files }, (_, i) => ({
      fileId: `${id}-${i}`,
      key: `k-${id}-${i}`,
      fileName: `${i}.pdf`,
    })),
  },
});

function source(): FormPackageSource & { calls: Record<string, number> } {
  const calls = { flows: 0, search: 0, urls: 0 };
  return {
    calls,
    getFlowAttachments: async (ids) => {
      calls.flows += 1;
      expect(ids.length).toBeLessThanOrEqual(100);
      return [];
    },
    searchInvoices: async () => {
      calls.search += 1;
      return new Map();
    },
    getInvoiceUrls: async () => {
      calls.urls += 1;
      return [];
    },
    getFlowDetails: async () => undefined,
    getFlowsPdf: async () => ({ kind: 'refused', status: 412, message: 'unused', tooLarge: false }),
  };
}

async function run(
  forms: FormItem[],
  extra: { archived?: (key: string) => Promise<boolean>; recordEmpty?: boolean } = {},
) {
  const queue = recordingQueue();
  const store = memoryStore();
  const src = source();
  const result = await createPackageJob(
    {
      jobId: 'job1',
      source: { kind: 'cli-form-archives' },
      forms,
      ...(extra.recordEmpty === undefined ? {} : { recordEmpty: extra.recordEmpty }),
    },
    {
      plan: {
        source: src,
        states: ['paid', 'archived'],
        ...(extra.archived ? { archived: extra.archived } : {}),
      },
      queue,
      store,
    },
  );
  return { ...result, queue, store, src };
}

describe('createPackageJob', () => {
  it('packs small packages into shared messages of ≤100 refs and ≤25 packages, parts last, counts every ref', async () => {
    const forms = Array.from({ length: 60 }, (_, i) => ({ form: formWith(`F${i}`, 2) }));
    const { record, queue, src } = await run(forms);
    const sizes = queue.messages.map((m) => [m.refs.length, m.packages?.length]);
    expect(sizes).toEqual([
      [100, 20],
      [100, 20],
      [100, 20],
    ]);
    expect(record?.counts).toMatchObject({ refs: 300, batches: 3, badLines: 0, duplicates: 0 });
    expect(record?.packages).toEqual({ queued: 60, unchanged: 0, held: 0, heldForms: [] });
    const first = queue.messages[0]?.refs.slice(0, 5).map((r) => `${r.kind ?? 'file'}:${r.key}`);
    expect(first).toEqual([
      'file:k-F0-0',
      'file:k-F0-1',
      'package:form.json',
      'package:print.pdf',
      'package:package.json',
    ]);
    // Planned 100 forms at a time: one call per endpoint per 100 (no invoices: no INVOICE/url call).
    expect(src.calls).toEqual({ flows: 1, search: 1, urls: 0 });
  });

  it('splits a package too large for one message; only the last part carries form.json, the PDF and the index', async () => {
    const { queue } = await run([{ form: formWith('BIG', 250) }]);
    expect(queue.messages.map((m) => [m.refs.length, m.packages?.[0]?.part])).toEqual([
      [100, { index: 1, of: 3, batchIds: ['b00001', 'b00002', 'b00003'] }],
      [100, { index: 2, of: 3, batchIds: ['b00001', 'b00002', 'b00003'] }],
      [53, { index: 3, of: 3, batchIds: ['b00001', 'b00002', 'b00003'] }],
    ]);
    expect(
      queue.messages.flatMap((m) =>
        m.refs.filter((r) => r.kind === 'package').map((r) => `${m.batchId}:${r.key}`),
      ),
    ).toEqual(['b00003:form.json', 'b00003:print.pdf', 'b00003:package.json']);
  });

  it('records held forms and bad lines, skips archived versions and repeated forms', async () => {
    const { record, queue } = await run(
      [
        { form: formWith('A', 1) },
        { form: formWith('A', 1) },
        { form: formWith('D', 1, 'draft') },
        { form: formWith('OLD', 1) },
        { bad: { line: 5, message: 'codes[4] X: 合思 has no such form' } },
      ],
      { archived: async (key) => key.includes('C-OLD') },
    );
    expect(queue.messages).toHaveLength(1);
    expect(record?.counts).toMatchObject({ refs: 4, duplicates: 1, badLines: 1 });
    expect(record?.packages).toMatchObject({ queued: 1, unchanged: 1, held: 1 });
    expect(record?.packages?.heldForms).toEqual([
      { flowId: 'D', code: 'C-D', state: 'draft', reason: expect.stringMatching(/draft/) },
    ]);
  });

  it('writes no job for a quiet window when asked not to, and never queues a job twice', async () => {
    const quiet = await run([{ form: formWith('OLD', 1) }], {
      archived: async () => true,
      recordEmpty: false,
    });
    expect(quiet.record).toBeUndefined();
    expect(quiet.store.data.size).toBe(0);

    const again = await run([{ form: formWith('A', 1) }]);
    await again.store.putJson('jobs/job1/job.json', again.record as JobRecord);
    const queue = recordingQueue();
    const second = await createPackageJob(
      { jobId: 'job1', source: { kind: 'cli-form-archives' }, forms: [{ form: formWith('A', 1) }] },
      { plan: { source: source(), states: ['paid'] }, queue, store: again.store },
    );
    expect(second.created).toBe(false);
    expect(queue.messages).toEqual([]);
  });
});
