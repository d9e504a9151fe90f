/**
 * The client's form-package calls against a hand-written stand-in: limits per call, answers matched by id, the
 * vendor's swapped invoice fields put right, the documented "nothing found" answers, and the print PDF streamed
 * with the same token machinery as every call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEkuaibaoClient, type EkuaibaoClient } from '../../../../functions/core/ekuaibao/client.js';
import { type FakeEkb, type Handler, sendJson, startFakeEkb, TOKEN_PATH } from './fake-ekb-server.js';

const CREDS = { appKey: 'k', appSecurity: 's-secret-value' };
let server: FakeEkb | undefined;
let client: EkuaibaoClient | undefined;
let tokens = 0;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
  tokens = 0;
});

async function start(handler: Handler): Promise<EkuaibaoClient> {
  server = await startFakeEkb((req, res, raw) => {
    if (req.path === TOKEN_PATH) {
      tokens += 1;
      sendJson(res, 200, {
        value: { accessToken: `ID01x:tok${tokens}`, expireTime: Date.now() + 7_200_000 },
      });
      return;
    }
    return handler(req, res, raw);
  });
  client = createEkuaibaoClient({
    baseUrl: server.baseUrl,
    credentials: () => CREDS,
    backoff: { baseMs: 1, maxMs: 2 },
  });
  return client;
}

const url = (name: string) => `https://vipimg.ekuaibao.com/${name}?e=1&token=ak:sig`;

describe('getFlowAttachments (flowDetails/attachment)', () => {
  it('asks at most 100 forms a call and puts the swapped invoice fields right', async () => {
    const c = await start((req, res) => {
      const ids = (req.body as { flowIds: string[] }).flowIds;
      sendJson(res, 200, {
        items: ids.map((flowId) => ({
          flowId,
          flowCode: `C-${flowId}`,
          fromType: 'expense',
          attachmentList: [
            {
              type: 'flow.body',
              attachmentUrls: [
                { key: `k-${flowId}`, url: url('a'), fileId: `f-${flowId}`, fileName: 'a.pdf' },
              ],
            },
            {
              type: 'flow.free',
              freeId: 'fee1',
              attachmentUrls: [],
              invoiceUrls: [
                {
                  key: 'inv.jpg',
                  url: url('i'),
                  fileId: 'fi',
                  invoiceNumber: '144062070284',
                  invoiceCode: '00097977',
                },
              ],
            },
            { type: 'flow.receipt', receiptUrls: [{ url: url('r1') }, { url: url('r2'), key: 'rk' }] },
            { type: 'flow.unknown', attachmentUrls: [{ key: 'x', url: url('x') }] },
          ],
        })),
      });
    });
    const ids = Array.from({ length: 150 }, (_, i) => `F${i}`);
    const flows = await c.getFlowAttachments(ids);
    expect(
      server?.requests
        .filter((r) => r.path === '/api/openapi/v1/flowDetails/attachment')
        .map((r) => (r.body as { flowIds: string[] }).flowIds.length),
    ).toEqual([100, 50]);
    expect(flows).toHaveLength(150);
    expect(flows[7]?.files).toEqual([
      { role: 'body', item: 'k-F7', key: 'k-F7', fileId: 'f-F7', fileName: 'a.pdf', url: url('a') },
      {
        role: 'invoice',
        item: 'inv.jpg',
        key: 'inv.jpg',
        fileId: 'fi',
        freeId: 'fee1',
        url: url('i'),
        invoice: { code: '144062070284', number: '00097977' },
      },
      // A receipt without key or fileId is found again by its position among the role's unnamed files.
      { role: 'receipt', item: '#1', url: url('r1') },
      { role: 'receipt', item: 'rk', key: 'rk', url: url('r2') },
    ]);
    expect(c.stats.flowAttachmentCalls).toBe(2);
  });

  it('reads the documented 400 单据不存在 as "none of these forms", and ignores forms it did not ask for', async () => {
    let call = 0;
    const c = await start((_req, res) => {
      call += 1;
      if (call === 1) sendJson(res, 400, { errorCode: 400, errorMessage: '单据不存在' });
      else
        sendJson(res, 200, {
          items: [
            { flowId: 'other', attachmentList: [] },
            { flowId: 'B', attachmentList: [] },
          ],
        });
    });
    expect(await c.getFlowAttachments(['A'])).toEqual([]);
    expect(await c.getFlowAttachments(['B'])).toEqual([{ flowId: 'B', files: [] }]);
  });
});

describe('searchInvoices and getInvoiceUrls', () => {
  it('keys invoices by the id sent, and matches INVOICE/url answers by id in any order, crops marked', async () => {
    const c = await start((req, res) => {
      if (req.path.endsWith('/flow/INVOICE/search')) {
        sendJson(res, 200, {
          value: { F1: [{ invoiceId: 'corp:1:2', invoiceItemId: ['i1'], invoiceType: 'taxi' }, { nope: 1 }] },
        });
        return;
      }
      sendJson(res, 200, {
        items: [
          { id: 'x-unasked', url: url('u') },
          {
            id: 'B',
            url: 'https://files-dd.ekuaibao.com/b.xml?Expires=1&Signature=s',
            fileName: 'b.xml',
            thumbUrl: '',
          },
          {
            id: 'A',
            url: 'https://files-dd.ekuaibao.com/a.jpg?Expires=1&x-oss-process=image%2Fcrop%2Cw_10&Signature=s',
            fileName: 'a.jpg',
          },
        ],
      });
    });
    const found = await c.searchInvoices('id', ['F1', 'F2']);
    expect([...found.entries()]).toEqual([
      ['F1', [{ invoiceId: 'corp:1:2', itemIds: ['i1'], type: 'taxi' }]],
    ]);
    expect(server?.requests.find((r) => r.path.endsWith('/flow/INVOICE/search'))?.body).toEqual({
      type: 'id',
      codeOrIds: ['F1', 'F2'],
    });
    const files = await c.getInvoiceUrls(['A', 'B', 'C']);
    expect(files.map((f) => [f.id, f.crop, f.fileName])).toEqual([
      ['B', false, 'b.xml'],
      ['A', true, 'a.jpg'],
    ]);
  });
});

describe('getFlowsPdf', () => {
  it('streams the PDF for /getFlowsPdf/[id] with the token, fetching a new one after 403', async () => {
    const pdf = Buffer.from('%PDF-1.4\n…%%EOF\n');
    let calls = 0;
    const c = await start((_req, res) => {
      calls += 1;
      if (calls === 1) {
        sendJson(res, 403, { errorCode: 403, errorMessage: '未授权' });
        return;
      }
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': String(pdf.length) });
      res.end(pdf);
    });
    const answer = await c.getFlowsPdf(['ID_1'], new AbortController().signal);
    expect(answer.kind).toBe('pdf');
    if (answer.kind !== 'pdf') return;
    const chunks: Buffer[] = [];
    for await (const chunk of answer.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(pdf);
    expect(answer.contentLength).toBe(pdf.length);
    const asked = server?.requests.filter((r) =>
      r.path.startsWith('/api/openapi/v1/flowDetails/getFlowsPdf/'),
    );
    expect(
      asked?.map((r) => [
        decodeURIComponent(r.path.slice('/api/openapi/v1/flowDetails/getFlowsPdf/'.length)),
        r.query.get('accessToken'),
      ]),
    ).toEqual([
      ['[ID_1]', 'ID01x:tok1'],
      ['[ID_1]', 'ID01x:tok2'],
    ]);
  });

  it('hands back the 412 refusal with its message, knowing "too large" from the rest, secrets scrubbed', async () => {
    const c = await start((req, res) => {
      const id = decodeURIComponent(req.path).includes('BIG') ? 'big' : 'other';
      sendJson(res, 412, {
        errorCode: 412,
        errorMessage:
          id === 'big'
            ? '单据内容过大，请减少单据生成条数据，生成pdf文件出错:[BIG]'
            : `打印的单据必须所属于同一员工 ${req.query.get('accessToken')}`,
      });
    });
    const big = await c.getFlowsPdf(['BIG'], new AbortController().signal);
    expect(big).toMatchObject({
      kind: 'refused',
      status: 412,
      tooLarge: true,
      message: expect.stringMatching(/单据内容过大/),
    });
    const mixed = await c.getFlowsPdf(['A', 'B'], new AbortController().signal);
    expect(mixed).toMatchObject({ kind: 'refused', tooLarge: false });
    expect(JSON.stringify(mixed)).not.toContain('tok');
    expect(JSON.stringify(mixed)).toContain('[redacted]');
  });
});
