/**
 * The sandbox's demo tenant: ten forms of five types, updated over four days in March 2026 (China time), with
 * attachments in every place the contract names (form.attachments, detail lines, invoice forms, custom fields
 * on the form and inside detail lines, approval logs), DingTalk-drive (DP:) files, CJK names, names with
 * spaces and odd characters, a deleted form, a form without attachments, a file shared by two forms, and the two
 * files of the vendor's downloadurls page with their exact ids and keys (VENDOR_PAGE_FILES).
 * Everything is fixed: no clock, no randomness, so every test and every run sees the same tenant.
 */
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';
import { parseChinaTime } from './forms.js';
import type { SandboxFile } from './types.js';

interface DemoAttachment {
  file: SandboxFile;
  ref: { fileId: string; key: string; fileName: string };
}

function attachment(id: string, key: string, fileName: string, size: number): DemoAttachment {
  return { file: { id, key, fileName, size }, ref: { fileId: id, key, fileName } };
}

function dpAttachment(
  id: string,
  inner: { fileId: string; fileName: string; fileSize: number; fileType: string; spaceId: string },
): DemoAttachment {
  return attachment(id, `DP:${JSON.stringify(inner)}`, inner.fileName, inner.fileSize);
}

function at(chinaTime: string): number {
  const ms = parseChinaTime(chinaTime);
  if (ms === undefined) throw new Error(`bad demo time ${chinaTime}`);
  return ms;
}

/** The examples of the vendor's downloadurls page, exactly as printed there. */
export const VENDOR_PAGE_FILES = {
  docx: {
    id: '61sbwX3DEAgk00',
    key: 'openapi0306c2d1-7a5b-4e96-8172-60c5ee0f971e-kotlin简介.docx',
    fileName: 'kotlin简介.docx',
    size: 23_456,
  },
  dp: {
    id: '136634573449',
    inner: {
      fileId: '136634437985',
      fileName: '128163bbba83.jpg',
      fileSize: 2_985_928,
      fileType: 'jpg',
      spaceId: '7215288789',
    },
  },
} as const;

const A = {
  travelSummary: attachment(
    'MmF7bOrK5hNz00',
    'openapi1f0e2d3c-4b5a-4968-8776-5d4c3b2a1f0e-差旅报销说明.pdf',
    '差旅报销说明.pdf',
    48_213,
  ),
  taxiReceipt: attachment('7Hq2mZcV0sYk00', '出租车票-1772415300000-1.jpg', '出租车票.jpg', 96_004),
  hotelInvoice: attachment(
    '8Jr3nAdW1tZl00',
    'openapi1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d-酒店 发票 2026-03.pdf',
    '酒店 发票 2026-03.pdf',
    131_072,
  ),
  supplement: attachment(
    '9Ks4oBeX2uAm00',
    'openapi2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e-补充说明.txt',
    '补充说明.txt',
    1_024,
  ),
  meetingPhoto: dpAttachment('136634573451', {
    fileId: '136634437987',
    fileName: '现场照片 01.jpg',
    fileSize: 298_765,
    fileType: 'jpg',
    spaceId: '7215288789',
  }),
  approvalNote: attachment('AaT5pCfY3vBn00', '审批意见-1772503200000-2.png', '审批意见.png', 20_480),
  oddName: attachment(
    'BbU6qDgZ4wCo00',
    `openapi3c4d5e6f-7a8b-4c9d-0e1f-2a3b4c5d6e7f-预算表 v2 (final) #3 & 50%+折扣=?'x'.xlsx`,
    `预算表 v2 (final) #3 & 50%+折扣=?'x'.xlsx`,
    65_537,
  ),
  eInvoice: attachment(
    'CcV7rEhA5xDp00',
    'openapi4d5e6f7a-8b9c-4d0e-1f2a-3b4c5d6e7f8a-电子发票 (增值税) 0001.ofd',
    '电子发票 (增值税) 0001.ofd',
    7_777,
  ),
  loanLetter: attachment(
    'DdW8sFiB6yEq00',
    'openapi5e6f7a8b-9c0d-4e1f-2a3b-4c5d6e7f8a9b-借款申请书.docx',
    '借款申请书.docx',
    33_000,
  ),
  minutes: dpAttachment('136634573450', {
    fileId: '136634437986',
    fileName: '会议纪要.docx',
    fileSize: 23_456,
    fileType: 'docx',
    spaceId: '7215288789',
  }),
  deletedOnly: attachment(
    'EeX9tGjC7zFr00',
    'openapi6f7a8b9c-0d1e-4f2a-3b4c-5d6e7f8a9b0c-已删除单据附件.pdf',
    '已删除单据附件.pdf',
    4_096,
  ),
  // Shared: the requisition and the expense it led to both carry this file.
  purchaseList: attachment(
    'FfY0uHkD8aGs00',
    'openapi7a8b9c0d-1e2f-4a3b-4c5d-6e7f8a9b0c1d-采购清单.xlsx',
    '采购清单.xlsx',
    54_321,
  ),
  quote: attachment('GgZ1vIlE9bHt00', '供应商报价单-1772589600000-1.png', '供应商报价单.png', 150_000),
  contract: attachment(
    'HhA2wJmF0cIu00',
    'openapi8b9c0d1e-2f3a-4b4c-5d6e-7f8a9b0c1d2e-合同扫描件.pdf',
    '合同扫描件.pdf',
    307_200,
  ),
  readme: attachment(
    'IiB3xKnG1dJv00',
    'openapi9c0d1e2f-3a4b-4c5d-6e7f-8a9b0c1d2e3f-read me.txt',
    'read me.txt',
    2_000,
  ),
  photo: attachment('JjC4yLoH2eKw00', 'photo 2026-1772676000000-3.jpeg', 'photo 2026.jpeg', 77_123),
  paymentSlip: attachment(
    'KkD5zMpI3fLx00',
    'openapi0d1e2f3a-4b5c-4d6e-7f8a-9b0c1d2e3f4a-付款回单.pdf',
    '付款回单.pdf',
    12_345,
  ),
  activityPlan: attachment('LlE6aNqJ4gMy00', '活动方案-1772762400000-1.pptx', '活动方案.pptx', 199_999),
  // The two files of the vendor's own page (seed-attachment-download.md), byte for byte: its curl body works
  // verbatim against the demo tenant. The DP: file is as large as its key says (fileSize 2985928).
  vendorDocx: attachment(
    VENDOR_PAGE_FILES.docx.id,
    VENDOR_PAGE_FILES.docx.key,
    VENDOR_PAGE_FILES.docx.fileName,
    VENDOR_PAGE_FILES.docx.size,
  ),
  vendorDp: dpAttachment(VENDOR_PAGE_FILES.dp.id, VENDOR_PAGE_FILES.dp.inner),
  // A screenshot attached to an approver's comment (评论附件).
  commentShot: attachment('NnG8cPsL6iOa00', '评论截图-1772415900000-1.png', '评论截图.png', 30_720),
} as const;

/** The demo forms' invoices (their files and numbers are in demo-packages.ts). */
export const DEMO_INVOICE_IDS = {
  /** A taxi receipt photographed and OCR'd: INVOICE/url serves a crop of the photo. */
  taxi: 'sandboxCorp0001:144062070284:00097977',
  /** A 数电票 (fully digital invoice): its signed XML is the legal original. */
  hotelXml: 'sandboxCorp0001::26312000000123878916',
  /** A VAT e-invoice as PDF. */
  meetingPdf: 'sandboxCorp0001:044002105112:13116949',
  /** A 数电票 as OFD. */
  officeOfd: 'sandboxCorp0001::26442000000074288816',
  /** A train ticket whose original the vendor cannot produce. */
  trainLost: 'sandboxCorp0001::E000012345678',
  /** A fixed-amount invoice (定额发票) photo, on a form that has no attachment of its own. */
  mealFixed: 'ID01sbxFixd0001',
} as const;

const invoiceRefs = (...items: [string, string[]][]) =>
  items.map(([invoiceId, itemIds]) => ({ invoiceId, itemIds }));

/** Every file the demo forms reference, each once (the shared one included once). */
export function demoFiles(): SandboxFile[] {
  return Object.values(A).map((a) => ({ ...a.file }));
}

const refs = (...items: DemoAttachment[]) => items.map((a) => ({ ...a.ref }));

function form(
  id: string,
  code: string,
  formType: string,
  state: string,
  created: string,
  updated: string,
  body: Record<string, unknown>,
  logs: unknown[] = [],
  active = true,
): EkuaibaoForm {
  return {
    id,
    code,
    formType,
    state,
    active,
    createTime: at(created),
    updateTime: at(updated),
    form: { code, title: `${code} ${String(body.title ?? '')}`.trim(), submitterId: 'sandbox:u001', ...body },
    logs,
  };
}

function log(action: string, time: string, attachments: DemoAttachment[] = []) {
  return { action, time: at(time), operatorId: 'sandbox:u002', attachments: refs(...attachments) };
}

/** The demo forms, oldest update first. */
export function demoForms(): EkuaibaoForm[] {
  return [...demoExpenseForms(), ...demoOtherForms()];
}

function demoExpenseForms(): EkuaibaoForm[] {
  return [
    form(
      'ID_3kPq8Xz1a01',
      'B26000001',
      'expense',
      'paid',
      '2026-03-01 18:20:00',
      '2026-03-02 09:15:00',
      {
        title: '上海出差报销',
        expenseMoney: { standard: '2380.50', standardStrCode: 'CNY' },
        attachments: refs(A.travelSummary, A.purchaseList, A.vendorDocx),
        details: [
          {
            feeTypeId: 'sandbox:taxi',
            feeTypeForm: {
              amount: { standard: '86.00' },
              attachments: refs(A.taxiReceipt),
              invoiceForm: {
                type: 'exist',
                invoices: invoiceRefs(
                  [DEMO_INVOICE_IDS.taxi, []],
                  [DEMO_INVOICE_IDS.hotelXml, ['sbxItem0001', 'sbxItem0002']],
                ),
                attachments: refs(A.hotelInvoice),
              },
              u_补充材料: refs(A.supplement),
            },
          },
          {
            feeTypeId: 'sandbox:meeting',
            feeTypeForm: {
              amount: { standard: '2294.50' },
              attachments: refs(A.meetingPhoto, A.vendorDp),
              invoiceForm: {
                type: 'exist',
                invoices: invoiceRefs([DEMO_INVOICE_IDS.meetingPdf, ['sbxItem0003']]),
              },
            },
          },
        ],
      },
      [
        log('freeflow.submit', '2026-03-01 18:20:00'),
        log('freeflow.comment', '2026-03-02 09:05:00', [A.commentShot]),
        log('freeflow.agree', '2026-03-02 09:10:00', [A.approvalNote]),
      ],
    ),
    form(
      'ID_3kPq8Xz1a02',
      'B26000002',
      'expense',
      'approving',
      '2026-03-02 10:00:00',
      '2026-03-02 16:45:30',
      {
        title: '办公用品',
        u_附件: refs(A.oddName),
        details: [
          {
            feeTypeId: 'sandbox:office',
            feeTypeForm: {
              amount: { standard: '512.00' },
              invoiceForm: {
                type: 'exist',
                invoices: invoiceRefs(
                  [DEMO_INVOICE_IDS.officeOfd, ['sbxItem0004']],
                  [DEMO_INVOICE_IDS.trainLost, []],
                ),
                attachments: refs(A.eInvoice),
              },
            },
          },
        ],
      },
    ),
    // Updated at 07:30 China time = 23:30 UTC the day before: only a China-time window finds it on the 3rd.
    form('ID_3kPq8Xz1a03', 'B26000003', 'expense', 'paid', '2026-03-02 20:00:00', '2026-03-03 07:30:00', {
      title: '餐费（无附件）',
      attachments: [],
      // No attachment object anywhere: only its invoice (a photo, via the invoice calls) carries a file.
      details: [
        {
          feeTypeId: 'sandbox:meal',
          feeTypeForm: {
            amount: { standard: '45.00' },
            invoiceForm: { type: 'exist', invoices: invoiceRefs([DEMO_INVOICE_IDS.mealFixed, []]) },
          },
        },
      ],
    }),
  ];
}

function demoOtherForms(): EkuaibaoForm[] {
  return [
    form(
      'ID_3kPq8Xz1b01',
      'J26000001',
      'loan',
      'paid',
      '2026-03-02 11:00:00',
      '2026-03-03 11:20:00',
      { title: '备用金借款', loanMoney: { standard: '5000.00' }, attachments: refs(A.loanLetter) },
      [log('freeflow.submit', '2026-03-02 11:00:00', [A.minutes])],
    ),
    form(
      'ID_3kPq8Xz1b02',
      'J26000002',
      'loan',
      'rejected',
      '2026-03-02 12:00:00',
      '2026-03-03 12:00:00',
      { title: '已删除的借款', attachments: refs(A.deletedOnly) },
      [],
      false,
    ),
    form('ID_3kPq8Xz1c01', 'S26000001', 'requisition', 'paid', '2026-02-27 09:00:00', '2026-03-03 15:00:00', {
      title: '采购申请',
      attachments: refs(A.purchaseList),
      u_附件: refs(A.quote),
    }),
    form(
      'ID_3kPq8Xz1c02',
      'S26000002',
      'requisition',
      'approving',
      '2026-03-03 16:00:00',
      '2026-03-04 10:05:00',
      {
        title: '服务合同申请',
        details: [
          {
            feeTypeId: 'sandbox:service',
            feeTypeForm: { amount: { standard: '30000.00' }, u_合同: refs(A.contract) },
          },
        ],
      },
    ),
    form('ID_3kPq8Xz1d01', 'C26000001', 'custom', 'archived', '2026-03-04 09:00:00', '2026-03-04 18:30:00', {
      title: '资料归档',
      u_附件: refs(A.readme, A.photo),
    }),
    form('ID_3kPq8Xz1e01', 'P26000001', 'payment', 'paid', '2026-03-04 20:00:00', '2026-03-05 08:00:00', {
      title: '供应商付款',
      // Another employee's form: getFlowsPdf refuses to print it together with sandbox:u001's.
      submitterId: 'sandbox:u003',
      payMoney: { standard: '30000.00' },
      attachments: refs(A.paymentSlip),
    }),
    // Submitted, then withdrawn (撤回): a draft again.
    form(
      'ID_3kPq8Xz1d02',
      'C26000002',
      'custom',
      'draft',
      '2026-03-05 09:00:00',
      '2026-03-05 23:59:59',
      { title: '市场活动' },
      [
        log('freeflow.submit', '2026-03-05 09:00:00', [A.activityPlan]),
        log('freeflow.retract', '2026-03-05 23:59:59'),
      ],
    ),
  ];
}

/** The demo tenant's credentials (the sandbox's defaults). */
export const DEMO_APP_KEY = 'sandbox-app-key';
export const DEMO_APP_SECURITY = 'sandbox-app-security';
export const DEMO_CORPORATION_ID = 'sandboxCorp0001';
