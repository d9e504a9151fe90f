/**
 * The forms (单据) routes: getApplyList (one type per call, paged, a China-time window on `orderBy`,
 * `active=false` lists only deleted forms) and flowDetails by id or by code (unknown or deleted → 412).
 */
import { liveFormsFor } from '../form-package.js';
import { listForms, parseApplyListQuery, presentForm } from '../forms.js';
import { sendApiError, sendJson, sendMethodNotAllowed } from '../http.js';
import { authorize } from './auth.js';
import { exactPaths, type RouteSpec } from './route-spec.js';

export const FORM_PATHS = {
  applyList: '/api/openapi/v1.1/docs/getApplyList',
  flowDetails: '/api/openapi/v1.1/flowDetails',
  flowDetailsByCode: '/api/openapi/v1.1/flowDetails/byCode',
} as const;

export const applyListRoute: RouteSpec = {
  scope: 'applyList',
  matches: exactPaths(FORM_PATHS.applyList),
  handle(ctx, state) {
    state.stats.applyListCalls += 1;
    if (ctx.req.method !== 'GET') {
      sendMethodNotAllowed(ctx);
      return;
    }
    if (!authorize(ctx, state)) return;
    const params = parseApplyListQuery(ctx.url.searchParams);
    if (typeof params === 'string') {
      sendApiError(ctx, 400, params);
      return;
    }
    sendJson(ctx, 200, listForms(state.forms.values(), params));
  },
};

export const flowDetailsRoute: RouteSpec = {
  scope: 'flowDetails',
  matches: exactPaths(FORM_PATHS.flowDetails, FORM_PATHS.flowDetailsByCode),
  handle(ctx, state) {
    state.stats.flowDetailsCalls += 1;
    if (ctx.req.method !== 'GET') {
      sendMethodNotAllowed(ctx);
      return;
    }
    if (!authorize(ctx, state)) return;
    const byCode = ctx.url.pathname === FORM_PATHS.flowDetailsByCode;
    const wanted = ctx.url.searchParams.get(byCode ? 'code' : 'flowId');
    if (!wanted) {
      sendApiError(ctx, 400, `缺少参数 ${byCode ? 'code' : 'flowId'}`);
      return;
    }
    const live = liveFormsFor(state, 'flowDetails');
    const id = byCode ? [...state.forms.values()].find((s) => s.form.code === wanted)?.form.id : wanted;
    const stored = id === undefined ? undefined : live(id);
    if (!stored) {
      sendApiError(ctx, 412, '单据不存在或已删除');
      return;
    }
    sendJson(ctx, 200, { value: presentForm(stored) });
  },
};
