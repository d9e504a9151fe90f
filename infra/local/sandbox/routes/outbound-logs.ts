/**
 * `GET /api/openapi/v1/outboundMessageLogs?accessToken=&messageType=&startDate=&endDate=` → the outbound
 * messages that failed every attempt, `{"items": [{messageId, flowId, request, response, state: "FAILURE",
 * createTime, …}]}`, oldest first. startDate and endDate are epoch ms, both required, both inclusive, on
 * createTime; messageType defaults to `flow` (E-Bot) as the vendor's does, so approval events (`message`) must be
 * asked for; another type, or nothing in the range → `{"items": []}`. A missing or non-numeric date → 400.
 */
import { sendApiError, sendJson, sendMethodNotAllowed } from '../http.js';
import { authorize } from './auth.js';
import { exactPaths, type RouteSpec } from './route-spec.js';

export const OUTBOUND_LOGS_PATH = '/api/openapi/v1/outboundMessageLogs';

export const outboundLogsRoute: RouteSpec = {
  scope: 'outboundLogs',
  matches: exactPaths(OUTBOUND_LOGS_PATH),
  handle(ctx, state) {
    state.stats.outboundLogCalls += 1;
    if (ctx.req.method !== 'GET') {
      sendMethodNotAllowed(ctx);
      return;
    }
    if (!authorize(ctx, state)) return;
    const q = ctx.url.searchParams;
    const range: number[] = [];
    for (const name of ['startDate', 'endDate']) {
      const raw = q.get(name) ?? '';
      if (!/^\d{1,15}$/.test(raw)) {
        sendApiError(ctx, 400, `${name} 必须是毫秒级时间戳`);
        return;
      }
      range.push(Number(raw));
    }
    const [from, to] = range as [number, number];
    const messageType = q.get('messageType') || 'flow';
    const items = state.outbound.logs.filter(
      (log) => log.messageType === messageType && log.createTime >= from && log.createTime <= to,
    );
    sendJson(ctx, 200, { items });
  },
};
