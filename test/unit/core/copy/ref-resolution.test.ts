import { describe, expect, it } from 'vitest';
import { resolveRefs } from '../../../../functions/core/copy/ref-resolution.js';
import type { DownloadRef } from '../../../../functions/core/model/refs.js';
import type { DownloadUrlResolver, FormFilesSource } from '../../../../functions/core/ports.js';

const NOW = 1_000_000;
const options = { expiration: 1800, signal: new AbortController().signal, now: () => NOW };

const files: DownloadUrlResolver = {
  resolveDownloadUrls: async (refs) =>
    refs.map((r) => ({
      status: 'resolved',
      id: r.id,
      key: r.key,
      url: `https://oss/${r.id}`,
      expiresAt: NOW + 1_800_000,
    })),
};

function formFiles(): FormFilesSource & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    getFlowAttachments: async (ids) => {
      calls.push(['flows', ...ids]);
      return ids
        .filter((id) => id !== 'GONE')
        .map((flowId) => ({
          flowId,
          files: [
            { role: 'receipt' as const, item: 'r.pdf', key: 'r.pdf', url: `https://vipimg/${flowId}/r` },
          ],
        }));
    },
    getInvoiceUrls: async (ids) => {
      calls.push(['invoices', ...ids]);
      return ids
        .filter((id) => id !== 'LOST')
        .map((id) => ({ id, url: `https://files-dd/${id}`, fileName: `${id}.xml`, crop: false }));
    },
  };
}

describe('resolveRefs', () => {
  it('asks each endpoint once for all its refs and answers in ref order', async () => {
    const refs: DownloadRef[] = [
      { kind: 'flow', id: 'F1', key: 'r.pdf', role: 'receipt' },
      { id: 'file1', key: 'k1' },
      { kind: 'invoice', id: 'INV', key: 'url' },
      { kind: 'flow', id: 'F1', key: 'missing.pdf', role: 'receipt' },
      { kind: 'flow', id: 'GONE', key: 'r.pdf', role: 'receipt' },
      { kind: 'invoice', id: 'LOST', key: 'url' },
    ];
    const src = formFiles();
    const out = await resolveRefs(refs, { files, formFiles: src }, options);
    expect(src.calls).toEqual([
      ['flows', 'F1', 'GONE'],
      ['invoices', 'INV', 'LOST'],
    ]);
    expect(out.map((r) => (r.status === 'resolved' ? r.url : r.code))).toEqual([
      'https://vipimg/F1/r',
      'https://oss/file1',
      'https://files-dd/INV',
      'flow_file_not_found',
      'form_not_found',
      'invoice_unavailable',
    ]);
    // One-hour links from flowDetails/attachment and INVOICE/url, counted from before the call.
    expect(out[0]).toMatchObject({ expiresAt: NOW + 3_600_000 });
    expect(out[2]).toMatchObject({ expiresAt: NOW + 3_600_000, fileName: 'INV.xml' });
  });

  it('fails flow and invoice refs (only those) as misconfigured without a form-files source', async () => {
    const out = await resolveRefs(
      [
        { id: 'file1', key: 'k1' },
        { kind: 'invoice', id: 'INV', key: 'url' },
      ],
      { files },
      options,
    );
    expect(out.map((r) => r.status === 'resolved' || r.code)).toEqual([true, 'misconfigured']);
  });
});
