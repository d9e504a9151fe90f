/**
 * The form-package calls over the demo tenant: flowDetails/attachment (every file by role, two host shapes,
 * receipts without fileId), INVOICE/search and INVOICE/url (XML/PDF/OFD/crops), getFlowsPdf (one employee, the
 * size limit), one-hour expiry, integrity headers where OSS sends them, changeForm, and each endpoint's faults.
 */
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Crc64 } from '../../../functions/core/integrity/crc64.js';
import { DEMO_INVOICE_IDS } from '../../../infra/local/sandbox/demo-data.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { call, getToken, withToken } from './sandbox-client.js';

const A01 = 'ID_3kPq8Xz1a01';
const A02 = 'ID_3kPq8Xz1a02';
const A03 = 'ID_3kPq8Xz1a03';
const B02_DELETED = 'ID_3kPq8Xz1b02';
const E01_OTHER_EMPLOYEE = 'ID_3kPq8Xz1e01';

interface Url {
  key?: string;
  url: string;
  fileId?: string;
  fileName?: string;
  invoiceNumber?: string | null;
  invoiceCode?: string | null;
}
interface Entry {
  type: string;
  freeId?: string;
  attachmentUrls?: Url[];
  invoiceUrls?: Url[];
  receiptUrls?: Url[];
}
interface FlowItem {
  flowId: string;
  flowCode: string;
  fromType: string;
  attachmentList: Entry[];
}
interface InvoiceItem {
  id: string;
  url: string;
  thumbUrl: string;
  source: string;
  fileName: string;
  region: number[];
}

async function fetchBytes(url: string) {
  const res = await request(url);
  const body = Buffer.from(await res.body.arrayBuffer());
  return {
    status: res.statusCode,
    headers: res.headers,
    body,
    sha256: createHash('sha256').update(body).digest('hex'),
    crc64: new Crc64().update(body).digestDecimal(),
  };
}

describe('sandbox form-package endpoints', () => {
  const start = Date.UTC(2026, 2, 6, 4, 0, 0);
  let clock = start;
  let sandbox: EkuaibaoSandbox;
  let token: string;

  const post = async (path: string, body: unknown) => {
    const answer = await call(withToken(sandbox, path, token), {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: answer.status, json: JSON.parse(answer.text || 'null'), headers: answer.headers };
  };
  const attachments = async (flowIds: unknown) => post('/api/openapi/v1/flowDetails/attachment', { flowIds });
  const search = (type: string, codeOrIds: string[]) =>
    post('/api/openapi/v2/extension/flow/INVOICE/search', { type, codeOrIds });
  const invoiceUrls = (invoiceId: string[]) => post('/api/openapi/v2/extension/INVOICE/url', { invoiceId });
  const pdf = async (ids: string) => {
    const res = await request(withToken(sandbox, `/api/openapi/v1/flowDetails/getFlowsPdf/${ids}`, token));
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
  };
  const itemFor = (items: FlowItem[], id: string) => items.find((i) => i.flowId === id)!;
  const entries = (item: FlowItem, type: string) => item.attachmentList.filter((e) => e.type === type);

  beforeAll(async () => {
    sandbox = await startEkuaibaoSandbox({ now: () => clock });
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(async () => {
    clock = start;
    sandbox.clearFaults();
    token = await getToken(sandbox);
  });

  describe('flowDetails/attachment', () => {
    it('lists every file of a form by role, receipts without fileId, and leaves unknown forms out', async () => {
      const { status, json } = await attachments([A01, 'ID_unknown', A03]);

      expect(status).toBe(200);
      const items = json.items as FlowItem[];
      expect(items.map((i) => i.flowId)).toEqual([A01, A03]);
      const a01 = itemFor(items, A01);
      expect(a01).toMatchObject({ flowCode: 'B26000001', fromType: 'expense' });
      expect(a01.attachmentList.map((e) => e.type)).toEqual([
        'flow.body',
        'flow.free',
        'flow.free',
        'flow.approving',
        'flow.receipt',
      ]);
      const [body] = entries(a01, 'flow.body');
      expect(body?.attachmentUrls?.map((u) => u.fileName)).toEqual([
        '差旅报销说明.pdf',
        '采购清单.xlsx',
        'kotlin简介.docx',
      ]);
      const [taxi, meeting] = entries(a01, 'flow.free');
      expect(taxi?.freeId).toBe('sandbox:taxi');
      expect(taxi?.attachmentUrls?.map((u) => u.fileName)).toEqual([
        '出租车票.jpg',
        '酒店 发票 2026-03.pdf',
        '补充说明.txt',
      ]);
      // The vendor's swap: invoiceNumber holds the 发票代码, invoiceCode the 发票号码.
      expect(taxi?.invoiceUrls).toEqual([
        expect.objectContaining({
          invoiceNumber: '144062070284',
          invoiceCode: '00097977',
          fileName: '出租车发票.jpg',
        }),
        expect.objectContaining({ invoiceNumber: null, invoiceCode: '26312000000123878916' }),
      ]);
      // The meeting line holds only DP: attachments (left out: this call cannot carry their headers).
      expect(meeting?.attachmentUrls).toEqual([]);
      expect(meeting?.invoiceUrls?.map((u) => u.invoiceCode)).toEqual(['13116949']);
      expect(entries(a01, 'flow.approving')[0]?.attachmentUrls?.map((u) => u.fileName)).toEqual([
        '评论截图.png',
        '审批意见.png',
      ]);
      const receipts = entries(a01, 'flow.receipt')[0]?.receiptUrls ?? [];
      expect(receipts).toHaveLength(1);
      expect(Object.keys(receipts[0]!).sort()).toEqual(['key', 'url']);

      // A form with no attachment object of its own still has its invoice photo.
      const a03 = itemFor(items, A03);
      expect(a03.attachmentList).toEqual([
        expect.objectContaining({ type: 'flow.free', attachmentUrls: [], invoiceUrls: [expect.any(Object)] }),
      ]);
    });

    it('hands out one-hour URLs on two host shapes that serve the right bytes, OSS headers on the OSS one', async () => {
      const items = (await attachments([A01])).json.items as FlowItem[];
      const a01 = items[0]!;
      const urls = a01.attachmentList.flatMap((e) => [
        ...(e.attachmentUrls ?? []),
        ...(e.invoiceUrls ?? []),
        ...(e.receiptUrls ?? []),
      ]);
      const oss = urls.filter((u) => new URL(u.url).pathname.startsWith('/files-dd/'));
      const token = urls.filter((u) => new URL(u.url).pathname.startsWith('/vipimg/'));
      expect(oss.length).toBeGreaterThan(0);
      expect(token.length).toBeGreaterThan(0);
      expect(oss.length + token.length).toBe(urls.length);
      for (const u of oss) {
        const q = new URL(u.url).searchParams;
        expect(Number(q.get('Expires'))).toBe(start / 1000 + 3600);
        expect(q.get('security-token')).toBeTruthy();
      }
      for (const u of token) {
        const q = new URL(u.url).searchParams;
        expect(Number(q.get('e'))).toBe(start / 1000 + 3600);
        expect(q.get('token')).toMatch(/^[^:]+:[\w-]+$/);
      }

      for (const u of urls) {
        const got = await fetchBytes(u.url);
        expect(got.status, u.key).toBe(200);
        // Attachments serve their file's bytes; invoice files and receipts are storage objects by key.
        const isInvoice = 'invoiceCode' in u;
        const expected =
          u.fileId && !isInvoice ? await sandbox.sha256(u.fileId) : await sandbox.objectSha256(u.key!);
        expect(got.sha256, u.key).toBe(expected);
        if (new URL(u.url).pathname.startsWith('/files-dd/')) {
          expect(got.headers['x-oss-hash-crc64ecma'], u.key).toBe(got.crc64);
        } else {
          expect(got.headers['x-oss-hash-crc64ecma'], u.key).toBeUndefined();
        }
      }
    });

    it('answers 403 for both host shapes after an hour, and for a forged token or signature', async () => {
      const items = (await attachments([A01])).json.items as FlowItem[];
      const urls = items[0]!.attachmentList.flatMap((e) => e.attachmentUrls ?? []);
      const oss = urls.find((u) => u.url.includes('/files-dd/'))!.url;
      const vip = urls.find((u) => u.url.includes('/vipimg/'))!.url;
      const forged = new URL(vip);
      forged.searchParams.set('e', String(Number(forged.searchParams.get('e')) + 3600));
      const otherKey = new URL(urls.filter((u) => u.url.includes('/vipimg/'))[1]!.url);
      const swapped = `${otherKey.origin}${otherKey.pathname}${new URL(vip).search}`;

      expect((await fetchBytes(forged.href)).status).toBe(403);
      expect((await fetchBytes(swapped)).status).toBe(403);
      clock = start + 3599_000;
      expect((await fetchBytes(oss)).status).toBe(200);
      expect((await fetchBytes(vip)).status).toBe(200);
      clock = start + 3601_000;
      const late = [await fetchBytes(oss), await fetchBytes(vip)];
      expect(late.map((l) => l.status)).toEqual([403, 403]);
      expect(late[0]!.body.toString()).toContain('Request has expired');
      expect(JSON.parse(late[1]!.body.toString())).toEqual({ error: 'token out of date' });
    });

    it('answers 400 单据不存在 when none of the forms exists, and 400 for bad bodies', async () => {
      const none = await attachments(['ID_unknown', B02_DELETED]);
      const tooMany = await attachments(Array.from({ length: 101 }, (_, i) => `ID_${i}`));
      const notArray = await attachments('ID_3kPq8Xz1a01');
      const empty = await attachments([]);
      const badItem = await attachments([A01, 7]);
      const notJson = await post('/api/openapi/v1/flowDetails/attachment', 'nope');

      expect(none).toMatchObject({ status: 400, json: { errorCode: 400, errorMessage: '单据不存在' } });
      for (const bad of [tooMany, notArray, empty, badItem, notJson]) expect(bad.status).toBe(400);
      expect(tooMany.json.errorMessage).toContain('100');
      expect(badItem.json.errorMessage).toContain('第 1 项');
      expect((await attachments(Array.from({ length: 100 }, () => A01))).status).toBe(200);
    });

    it('refuses a call without a valid token (403)', async () => {
      const res = await call(`${sandbox.baseUrl}/api/openapi/v1/flowDetails/attachment?accessToken=nope`, {
        method: 'POST',
        body: JSON.stringify({ flowIds: [A01] }),
      });
      expect(res.status).toBe(403);
    });
  });

  describe('INVOICE/search', () => {
    it('finds the invoice ids of forms by id or by code, keyed as asked', async () => {
      const byId = await search('id', [A01, A03, 'ID_unknown', B02_DELETED, 'ID_3kPq8Xz1c01']);
      const byCode = await search('code', ['B26000002']);

      expect(byId.status).toBe(200);
      expect(Object.keys(byId.json.value).sort()).toEqual([A01, A03]);
      expect(byId.json.value[A01]).toEqual([
        { invoiceId: DEMO_INVOICE_IDS.taxi, invoiceItemId: [], invoiceType: 'taxi' },
        {
          invoiceId: DEMO_INVOICE_IDS.hotelXml,
          invoiceItemId: ['sbxItem0001', 'sbxItem0002'],
          invoiceType: 'invoice',
        },
        { invoiceId: DEMO_INVOICE_IDS.meetingPdf, invoiceItemId: ['sbxItem0003'], invoiceType: 'invoice' },
      ]);
      expect(byCode.json.value.B26000002.map((i: { invoiceId: string }) => i.invoiceId)).toEqual([
        DEMO_INVOICE_IDS.officeOfd,
        DEMO_INVOICE_IDS.trainLost,
      ]);
    });

    it('answers {"value":{}} when nothing is found and 400 for another type', async () => {
      expect((await search('id', ['ID_unknown'])).json).toEqual({ value: {} });
      const bad = await search('name', [A01]);
      expect(bad.status).toBe(400);
      expect(bad.json.errorMessage).toBe('不支持此类型type=name');
      expect((await post('/api/openapi/v2/extension/flow/INVOICE/search', { type: 'id' })).status).toBe(400);
    });
  });

  describe('INVOICE/url', () => {
    const all = Object.values(DEMO_INVOICE_IDS);

    it('gives XML, PDF, OFD and cropped images with one-hour links; thumbUrl empty except for images', async () => {
      const { status, json } = await invoiceUrls([...all, 'no-such-invoice']);

      expect(status).toBe(200);
      const items = json.items as InvoiceItem[];
      // The train ticket's original cannot be produced: absent, like an unknown id.
      expect(items.map((i) => i.id).sort()).toEqual(
        all.filter((id) => id !== DEMO_INVOICE_IDS.trainLost).sort(),
      );
      const byId = new Map(items.map((i) => [i.id, i]));
      for (const id of [DEMO_INVOICE_IDS.hotelXml, DEMO_INVOICE_IDS.meetingPdf, DEMO_INVOICE_IDS.officeOfd]) {
        expect(byId.get(id)?.thumbUrl).toBe('');
        expect(new URL(byId.get(id)!.url).searchParams.get('x-oss-process')).toBeNull();
      }
      expect(byId.get(DEMO_INVOICE_IDS.hotelXml)?.fileName).toMatch(/\.xml$/);
      expect(byId.get(DEMO_INVOICE_IDS.hotelXml)?.region).toEqual([]);
      const taxi = byId.get(DEMO_INVOICE_IDS.taxi)!;
      expect(taxi).toMatchObject({ source: 'ocr', region: [0, 0, 1650, 1665] });
      expect(taxi.thumbUrl).toBe(taxi.url);
      expect(new URL(taxi.url).searchParams.get('x-oss-process')).toBe(
        'image/crop,w_1650,h_1665,x_0,y_0,g_nw',
      );
      expect(Number(new URL(taxi.url).searchParams.get('Expires'))).toBe(start / 1000 + 3600);
    });

    it('serves each file deterministically: originals with their CRC-64, crops without, crop covered by the signature', async () => {
      const items = (await invoiceUrls(Object.values(DEMO_INVOICE_IDS))).json.items as InvoiceItem[];
      for (const item of items) {
        const got = await fetchBytes(item.url);
        expect(got.status, item.id).toBe(200);
        expect(got.sha256, item.id).toBe(await sandbox.invoiceSha256(item.id));
        expect((await fetchBytes(item.url)).sha256, item.id).toBe(got.sha256);
        if (item.thumbUrl === '') expect(got.headers['x-oss-hash-crc64ecma'], item.id).toBe(got.crc64);
        else expect(got.headers['x-oss-hash-crc64ecma'], item.id).toBeUndefined();
      }
      const xml = items.find((i) => i.id === DEMO_INVOICE_IDS.hotelXml)!;
      expect((await fetchBytes(xml.url)).headers['content-type']).toBe('application/xml');

      const taxi = new URL(items.find((i) => i.id === DEMO_INVOICE_IDS.taxi)!.url);
      const crop = await fetchBytes(taxi.href);
      expect(crop.sha256).not.toBe(await sandbox.objectSha256('出租车发票-1772414400000-911.jpg'));
      const uncropped = new URL(taxi);
      uncropped.searchParams.delete('x-oss-process');
      const recropped = new URL(taxi);
      recropped.searchParams.set('x-oss-process', 'image/crop,w_10,h_10,x_0,y_0,g_nw');
      expect((await fetchBytes(uncropped.href)).status).toBe(403);
      expect((await fetchBytes(recropped.href)).status).toBe(403);
    });

    it('answers {"items": []} for nothing known, 400 for a bad body, and 403 on the links after an hour', async () => {
      expect((await invoiceUrls(['nope'])).json).toEqual({ items: [] });
      expect((await post('/api/openapi/v2/extension/INVOICE/url', { invoiceId: 'x' })).status).toBe(400);
      const [item] = (await invoiceUrls([DEMO_INVOICE_IDS.meetingPdf])).json.items as InvoiceItem[];
      clock = start + 3601_000;
      expect((await fetchBytes(item!.url)).status).toBe(403);
    });
  });

  describe('getFlowsPdf', () => {
    const countPages = (pdfBytes: Buffer) => Number(/\/Count (\d+)/.exec(pdfBytes.toString('latin1'))?.[1]);

    it('streams a real PDF named by the form id, the same bytes every time', async () => {
      const got = await pdf(`[${A01}]`);

      expect(got.status).toBe(200);
      expect(got.headers['content-type']).toBe('application/pdf');
      expect(got.headers['content-disposition']).toBe(`attachment; filename="${A01}.pdf"`);
      expect(got.body.equals(sandbox.flowsPdf([A01]))).toBe(true);
      expect((await pdf(`[${A01}]`)).body.equals(got.body)).toBe(true);
      const text = got.body.toString('latin1');
      expect(text.startsWith('%PDF-1.4\n')).toBe(true);
      expect(text.trimEnd().endsWith('%%EOF')).toBe(true);
      // The cross-reference table points at each object's first byte, as a PDF reader checks.
      const xrefAt = Number(/startxref\n(\d+)\n/.exec(text)?.[1]);
      expect(text.slice(xrefAt, xrefAt + 4)).toBe('xref');
      const offsets = [...text.slice(xrefAt).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
      offsets.forEach((offset, i) => {
        expect(text.slice(offset).startsWith(`${i + 1} 0 obj`)).toBe(true);
      });
      // Parentheses inside a PDF string are escaped.
      expect(text).toContain(String.raw`(Form B26000001 \(ID_3kPq8Xz1a01\)) Tj`);
      expect(countPages(got.body)).toBe(1);
    });

    it('prints several forms of one employee into one file (brackets plain or percent-encoded)', async () => {
      const plain = await pdf(`[${A01},${A03}]`);
      const encoded = await pdf(encodeURIComponent(`[${A01}, ${A03}]`));

      expect(plain.status).toBe(200);
      expect(countPages(plain.body)).toBe(2);
      expect(encoded.body.equals(plain.body)).toBe(true);
    });

    it('answers 412 for forms of two employees, an unknown or deleted form; 400 for a malformed id list', async () => {
      const mixed = await pdf(`[${A01},${E01_OTHER_EMPLOYEE}]`);
      const unknown = await pdf('[ID_unknown]');
      const deleted = await pdf(`[${B02_DELETED}]`);

      expect(mixed.status).toBe(412);
      expect(JSON.parse(mixed.body.toString()).errorMessage).toContain('同一员工');
      expect(unknown.status).toBe(412);
      expect(JSON.parse(unknown.body.toString()).errorMessage).toContain('ID_unknown');
      expect(deleted.status).toBe(412);
      for (const bad of [A01, '[]', `[${A01},]`, '%E0%A4%A']) expect((await pdf(bad)).status).toBe(400);
    });

    it('answers 412 单据内容过大 over the configured limit (vendor: 32 MB)', async () => {
      const small = await startEkuaibaoSandbox({ flowsPdfMaxBytes: 100_000 });
      try {
        const t = await getToken(small);
        const path = (ids: string) => withToken(small, `/api/openapi/v1/flowDetails/getFlowsPdf/${ids}`, t);
        // B26000003's only file is its 52 KB invoice photo; B26000001 carries ~4 MB.
        const under = await call(path(`[${A03}]`));
        const over = await call(path(`[${A01}]`));

        expect(under.status).toBe(200);
        expect(over.status).toBe(412);
        expect(JSON.parse(over.text).errorMessage).toBe(
          `单据内容过大，请减少单据生成条数据，生成pdf文件出错:[${A01}]`,
        );
      } finally {
        await small.close();
      }
    });
  });

  describe('changeForm', () => {
    it('gives a form a later updateTime and a new attachment that every listing shows, and a new print', async () => {
      const local = await startEkuaibaoSandbox({ now: () => clock });
      try {
        const t = await getToken(local);
        const before = local.flowsPdf([A02]);
        const details = async () =>
          JSON.parse((await call(withToken(local, `/api/openapi/v1.1/flowDetails?flowId=${A02}`, t))).text)
            .value;
        const old = await details();

        const changed = local.changeForm(A02, { attachment: { fileName: '补充发票.pdf', size: 4_321 } });
        const now = await details();
        const listed = JSON.parse(
          (
            await call(withToken(local, '/api/openapi/v1/flowDetails/attachment', t), {
              method: 'POST',
              body: JSON.stringify({ flowIds: [A02] }),
            })
          ).text,
        ).items[0] as FlowItem;

        expect(now.updateTime).toBeGreaterThan(old.updateTime);
        expect(changed.updateTime).toBe(now.updateTime);
        const added = (now.form.attachments as { fileId: string; key: string; fileName: string }[]).at(-1)!;
        expect(added.fileName).toBe('补充发票.pdf');
        const bodyUrls = entries(listed, 'flow.body')[0]!.attachmentUrls!;
        const url = bodyUrls.find((u) => u.fileId === added.fileId)!.url;
        const got = await fetchBytes(url);
        expect(got.body.length).toBe(4_321);
        expect(got.sha256).toBe(await local.sha256(added.fileId));
        expect(local.flowsPdf([A02]).equals(before)).toBe(false);
        // A second change is a second version again (even when the clock stands still).
        const again = local.changeForm(A02);
        expect(again.updateTime).toBeGreaterThan(changed.updateTime as number);
        expect(() => local.changeForm(B02_DELETED)).toThrow(RangeError);
      } finally {
        await local.close();
      }
    });
  });

  describe('faults', () => {
    it.each([
      ['flowAttachments', () => attachments([A01])],
      ['invoiceSearch', () => search('id', [A01])],
      ['invoiceUrls', () => invoiceUrls([DEMO_INVOICE_IDS.taxi])],
      ['flowsPdf', () => pdf(`[${A01}]`)],
    ] as const)('answers an injected 503 and 429 on %s, then the real answer', async (route, callIt) => {
      sandbox.inject({ kind: 'status', route, status: 503 });
      sandbox.inject({ kind: 'status', route, status: 429, retryAfterSeconds: 2 });
      const first = await callIt();
      const second = await callIt();
      const third = await callIt();
      expect([first.status, second.status, third.status]).toEqual([503, 429, 200]);
      expect(second.headers['retry-after']).toBe('2');
    });

    it('vanishedForm: a form listed a moment ago is gone for one call of the route it targets', async () => {
      sandbox.inject({ kind: 'vanishedForm', route: 'flowAttachments', flowId: A03 });
      const attach = (await attachments([A01, A03])).json.items as FlowItem[];
      sandbox.inject({ kind: 'vanishedForm', route: 'flowsPdf' });
      const print = await pdf(`[${A01}]`);
      sandbox.inject({ kind: 'vanishedForm', route: 'invoiceSearch', flowId: A01 });
      const found = (await search('id', [A01, A03])).json.value;
      sandbox.inject({ kind: 'vanishedForm', route: 'flowDetails' });
      const detail = await call(withToken(sandbox, `/api/openapi/v1.1/flowDetails?flowId=${A01}`, token));

      expect(attach.map((i) => i.flowId)).toEqual([A01]);
      expect(print.status).toBe(412);
      expect(Object.keys(found)).toEqual([A03]);
      expect(detail.status).toBe(412);
      // Each fired once: the forms are back.
      expect((await attachments([A01, A03])).json.items).toHaveLength(2);
      expect((await pdf(`[${A01}]`)).status).toBe(200);
    });

    it('invoiceUnavailable: the original of one invoice cannot be produced for one call', async () => {
      sandbox.inject({ kind: 'invoiceUnavailable', invoiceId: DEMO_INVOICE_IDS.hotelXml });
      const ids = [DEMO_INVOICE_IDS.hotelXml, DEMO_INVOICE_IDS.meetingPdf];
      const first = (await invoiceUrls(ids)).json.items as InvoiceItem[];
      const second = (await invoiceUrls(ids)).json.items as InvoiceItem[];
      expect(first.map((i) => i.id)).toEqual([DEMO_INVOICE_IDS.meetingPdf]);
      expect(second).toHaveLength(2);
    });

    it('pdfTooLarge: 412 with the vendor message whatever the size, once', async () => {
      sandbox.inject({ kind: 'pdfTooLarge' });
      const refused = await pdf(`[${A03}]`);
      expect(refused.status).toBe(412);
      expect(JSON.parse(refused.body.toString()).errorMessage).toContain('单据内容过大');
      expect((await pdf(`[${A03}]`)).status).toBe(200);
    });

    it('integrity faults reach the form-package OSS-style host too', async () => {
      const [item] = (await invoiceUrls([DEMO_INVOICE_IDS.meetingPdf])).json.items as InvoiceItem[];
      sandbox.inject({ kind: 'corruptBody' });
      const bad = await fetchBytes(item!.url);
      expect(bad.body.length).toBe(96_512);
      expect(bad.sha256).not.toBe(await sandbox.invoiceSha256(DEMO_INVOICE_IDS.meetingPdf));
      expect(bad.headers['x-oss-hash-crc64ecma']).not.toBe(bad.crc64);
    });
  });
});
