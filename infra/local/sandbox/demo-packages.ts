/**
 * What the demo forms hold beyond their JSON: the files of their invoices (XML original of a 数电票, PDF, OFD,
 * OCR'd photos served as crops, one invoice whose original cannot be produced) and the bank receipts (回单) of
 * paid forms, which have no fileId. Fixed like the rest of the demo tenant.
 */
import { DEMO_INVOICE_IDS } from './demo-data.js';
import type { SandboxInvoice, SandboxReceipt } from './types.js';

const OCR_REGION = [0, 0, 1650, 1665];

export function demoInvoices(): SandboxInvoice[] {
  return [
    {
      id: DEMO_INVOICE_IDS.taxi,
      type: 'taxi',
      itemIds: [],
      code: '144062070284',
      number: '00097977',
      source: 'ocr',
      region: OCR_REGION,
      file: {
        fileId: 'sbxInvFile0001',
        key: '出租车发票-1772414400000-911.jpg',
        fileName: '出租车发票.jpg',
        size: 84_000,
        crop: 'image/crop,w_1650,h_1665,x_0,y_0,g_nw',
      },
    },
    {
      id: DEMO_INVOICE_IDS.hotelXml,
      type: 'invoice',
      itemIds: ['sbxItem0001', 'sbxItem0002'],
      number: '26312000000123878916',
      source: 'upload',
      region: [],
      file: {
        fileId: 'sbxInvFile0002',
        key: 'ID01sbxHotel01--26312000000123878916-MwK4Xw7kJiB1nP-1772414500000-498.xml',
        fileName: 'ID01sbxHotel01--26312000000123878916-MwK4Xw7kJiB1nP-1772414500000-498.xml',
        size: 6_144,
      },
    },
    {
      id: DEMO_INVOICE_IDS.meetingPdf,
      type: 'invoice',
      itemIds: ['sbxItem0003'],
      code: '044002105112',
      number: '13116949',
      source: 'ocr',
      region: [0, 0, 2000, 1292],
      file: {
        fileId: 'sbxInvFile0003',
        key: '914406006886972209_4b113f8c5b2b431eb46fba682a0065ed-1772414600000-935.pdf',
        fileName: '914406006886972209_4b113f8c5b2b431eb46fba682a0065ed-1772414600000-935.pdf',
        size: 96_512,
      },
    },
    {
      id: DEMO_INVOICE_IDS.officeOfd,
      type: 'invoice',
      itemIds: ['sbxItem0004'],
      number: '26442000000074288816',
      source: 'ocr',
      region: [0, 0, 2000, 1332],
      file: {
        key: '1-29东莞小勺_26442000000074288816-1772437200000-733.ofd',
        fileName: '1-29东莞小勺_26442000000074288816-1772437200000-733.ofd',
        size: 41_000,
      },
    },
    {
      id: DEMO_INVOICE_IDS.trainLost,
      type: 'train',
      itemIds: [],
      number: 'E000012345678',
      source: 'ocr',
      region: OCR_REGION,
      file: { key: '火车票-1772437300000-12.jpg', fileName: '火车票.jpg', size: 65_000 },
      unavailable: true,
    },
    {
      id: DEMO_INVOICE_IDS.mealFixed,
      type: 'fixed',
      itemIds: [],
      code: '144031981110',
      number: '05371528',
      source: 'ocr',
      region: [0, 0, 675, 505],
      file: {
        fileId: 'sbxInvFile0006',
        key: '定额发票37-1772494200000-302.png',
        fileName: '定额发票37.png',
        size: 52_000,
        crop: 'image/crop,w_675,h_505,x_0,y_0,g_nw',
      },
    },
  ];
}

/** Bank receipts of the paid forms, by form id. */
export function demoReceipts(): Record<string, SandboxReceipt[]> {
  return {
    ID_3kPq8Xz1a01: [{ key: '503cedde-d7d6-4115-b8ee-1aed222add21-MjIwMjczOTE3ODE=.pdf', size: 18_432 }],
    ID_3kPq8Xz1e01: [
      { key: '7a1c2e3f-4b5d-4e6f-8a9b-0c1d2e3f4a5b-MzAwMDAwMDAwMDE=.pdf', size: 20_000 },
      { key: '7a1c2e3f-4b5d-4e6f-8a9b-0c1d2e3f4a5c-MzAwMDAwMDAwMDI=.pdf', size: 21_000 },
    ],
  };
}
