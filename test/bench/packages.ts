/**
 * Section 9: form packages beside the file-only sync (issue 15). A sandbox of its own holds a few hundred paid
 * expense forms, each with three attachments, one invoice (its XML) and one bank receipt. The same sync core runs
 * over them three times, each in a fresh child: files mode (the JSON walk, attachments only), packages mode (every
 * file, the invoice twice — as attached and as INVOICE/url gives it —, form.json, the print PDF, the index), and
 * packages again over the unchanged forms (what a re-run costs). Per run: forms per second, and every call the
 * sandbox answered, per form.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EkuaibaoForm } from '../../functions/core/model/forms.js';
import { formatChinaTime } from '../../functions/core/sync/china-time.js';
import { startEkuaibaoSandbox } from '../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox, SandboxStats } from '../../infra/local/sandbox/types.js';
import type { FormsResult, FormsTask } from './packages-child.js';
import { runChild, type S3Process } from './processes.js';
import { fmt, mib, table } from './stats.js';

export interface PackagesCtx {
  s3: S3Process;
  bucket: string;
  childBundle: string;
  emit: (text?: string) => void;
}

/** 2026-03-02 00:00 China time: the forms are updated one second apart from here. */
const FIRST_UPDATE = Date.UTC(2026, 2, 1, 16, 0, 0);
const KIB = 1024;

function generatedForm(i: number): EkuaibaoForm {
  const id = `ID_benchPkg${String(i).padStart(5, '0')}`;
  return {
    id,
    code: `B90${String(i).padStart(5, '0')}`,
    formType: 'expense',
    state: 'paid',
    updateTime: FIRST_UPDATE + i * 1000,
    form: {
      title: `bench form ${i}`,
      submitterId: 'sandbox:u001',
      expenseMoney: { standard: '100.00', standardStrCode: 'CNY' },
      attachments: [0, 1, 2].map((j) => ({
        fileId: `benchPkgFile${i}x${j}`,
        key: `openapi0b3c4d5e-6f7a-4b8c-9d0e-${String(i * 3 + j).padStart(12, '0')}-附件${j}.pdf`,
        fileName: `附件${j}.pdf`,
        size: 16 * KIB,
      })),
      details: [
        {
          feeTypeId: 'fee',
          feeTypeForm: { invoiceForm: { invoices: [{ invoiceId: `bench::${i}`, itemIds: [] }] } },
        },
      ],
    },
    logs: [{ action: 'freeflow.agree', time: FIRST_UPDATE, operatorId: 'sandbox:u002', attachments: [] }],
  };
}

async function tenant(forms: number): Promise<EkuaibaoSandbox> {
  const sandbox = await startEkuaibaoSandbox({ files: [], forms: [] });
  for (let i = 0; i < forms; i++) {
    const form = generatedForm(i);
    sandbox.putForm(form);
    sandbox.addInvoice({
      id: `bench::${i}`,
      type: 'invoice',
      itemIds: [],
      number: String(26_000_000_000_000 + i),
      source: 'upload',
      region: [],
      file: { key: `bench-invoice-${i}-1772400000000-1.xml`, fileName: `invoice-${i}.xml`, size: 4 * KIB },
    });
    sandbox.putReceipts(form.id, [{ key: `bench-receipt-${i}-MzAw.pdf`, size: 8 * KIB }]);
  }
  return sandbox;
}

type Calls = Record<string, number>;

function callsOf(s: Required<SandboxStats>): Calls {
  return {
    token: s.tokenCalls,
    getApplyList: s.applyListCalls,
    flowDetails: s.flowDetailsCalls,
    downloadurls: s.downloadUrlCalls,
    'flowDetails/attachment': s.flowAttachmentCalls,
    'INVOICE/search': s.invoiceSearchCalls,
    'INVOICE/url': s.invoiceUrlCalls,
    getFlowsPdf: s.flowsPdfCalls,
  };
}

export async function sectionPackages(ctx: PackagesCtx, plan: { forms: number }): Promise<void> {
  const sandbox = await tenant(plan.forms);
  const env = {
    ekbBaseUrl: sandbox.baseUrl,
    appKey: sandbox.appKey,
    appSecurity: sandbox.appSecurity,
    s3Endpoint: ctx.s3.endpoint,
    bucket: ctx.bucket,
  };
  const runs: Array<{ name: string; result: FormsResult; calls: Calls; downloads: number }> = [];
  const run = async (name: string, mode: FormsTask['mode'], prefix: string): Promise<void> => {
    sandbox.resetStats();
    const result = await runChild<FormsResult>(ctx.childBundle, {
      kind: 'forms',
      env,
      mode,
      startDate: formatChinaTime(FIRST_UPDATE - 60_000),
      nowMs: FIRST_UPDATE + plan.forms * 1000 + 60_000,
      prefix,
    });
    const st = sandbox.stats as Required<SandboxStats>;
    if (result.failed > 0) throw new Error(`section 9 ${name}: ${result.failed} refs failed`);
    runs.push({ name, result, calls: callsOf(st), downloads: st.downloadsStarted });
  };
  try {
    await run('file-only sync (EKB_SYNC_MODE=files)', 'files', 'forms-files');
    await run('form packages (EKB_SYNC_MODE=packages)', 'packages', 'forms-packages');
    await run('form packages, re-run (nothing changed)', 'packages', 'forms-packages-again');
  } finally {
    await sandbox.close();
    for (const dir of ['bench', 'forms'])
      rmSync(join(ctx.s3.directory, ctx.bucket, dir), { recursive: true, force: true });
  }
  report(ctx, plan.forms, runs);
}

function report(
  ctx: PackagesCtx,
  forms: number,
  runs: Array<{ name: string; result: FormsResult; calls: Calls; downloads: number }>,
): void {
  const { emit } = ctx;
  emit('## 9. Form packages beside the file-only sync');
  emit();
  emit(
    `${forms} paid expense forms, each with 3 attachments of 16 KiB, one invoice (4 KiB XML) and one bank receipt ` +
      '(8 KiB, no fileId). One sync run over them per row, in a fresh process (listing, planning, queuing in ' +
      'process, then every message through the copy engine, two at a time), against the sandbox and s3rver on ' +
      'loopback. Calls are what the sandbox answered.',
  );
  emit();
  emit(
    table(
      ['run', 'objects written', 'skipped', 'MiB', 's', 'forms/s', 'vendor calls', 'per form', 'file GETs'],
      runs.map(({ name, result: r, calls, downloads }) => {
        const total = Object.values(calls).reduce((a, b) => a + b, 0);
        return [
          name,
          String(r.copied),
          String(r.skipped),
          fmt(mib(r.bytes), 2),
          fmt(r.ms / 1000, 2),
          fmt(forms / (r.ms / 1000), 1),
          String(total),
          fmt(total / forms, 2),
          String(downloads),
        ];
      }),
    ),
  );
  emit();
  const names = Object.keys(runs[0]?.calls ?? {});
  emit(
    table(
      ['calls per form', ...runs.map((r) => r.name.replace(/ \(.*\)$/, ''))],
      names.map((n) => [n, ...runs.map((r) => fmt((r.calls[n] ?? 0) / forms, 3))]),
    ),
  );
  emit();
}
