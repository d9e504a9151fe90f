/**
 * `GET /api/openapi/v1/outboundMessageLogs?messageType=&startDate=&endDate=` (epoch ms): the outbound messages
 * 合思 gave up delivering. Read defensively: entries without an id or a flowId (business-object and loan events)
 * are not forms to archive and are left out.
 */
import type { OutboundFailure } from '../ports.js';
import type { FormsContext } from './forms.js';
import { badResponse } from './upstream-errors.js';

const PATH = '/api/openapi/v1/outboundMessageLogs';

export async function listOutboundFailures(
  c: FormsContext,
  query: { messageType: string; startMs: number; endMs: number },
  signal?: AbortSignal,
): Promise<OutboundFailure[]> {
  const { body } = await c.authed({
    route: 'outboundMessageLogs',
    method: 'GET',
    path: PATH,
    query: {
      messageType: query.messageType,
      startDate: String(Math.max(0, Math.floor(query.startMs))),
      endDate: String(Math.max(0, Math.floor(query.endMs))),
    },
    ...(signal ? { signal } : {}),
    counter: 'outboundLogCalls',
  });
  const items = body && typeof body === 'object' ? (body as { items?: unknown }).items : undefined;
  if (!Array.isArray(items)) throw badResponse('outboundMessageLogs', 'expected {items[]}');
  const out: OutboundFailure[] = [];
  for (const raw of items as unknown[]) {
    if (raw === null || typeof raw !== 'object') continue;
    const o = raw as Record<string, unknown>;
    const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : '';
    const flowId = typeof o.flowId === 'string' ? o.flowId.trim() : '';
    if (id === '' || flowId === '' || o.state === 'SUCCESS') continue;
    const request = o.request && typeof o.request === 'object' ? (o.request as Record<string, unknown>) : {};
    out.push({
      id,
      flowId,
      messageType: typeof o.messageType === 'string' ? o.messageType : query.messageType,
      createTime: typeof o.createTime === 'number' ? o.createTime : 0,
      ...(typeof request.action === 'string' ? { action: request.action } : {}),
    });
  }
  return out;
}
