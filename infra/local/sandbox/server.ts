/**
 * The 合思 sandbox's server core: a real HTTP server on 127.0.0.1 that speaks the Open API contract
 * (../shared/ekuaibao-api.md). It listens, finds the route (./routes/index.ts, where every route and switch is
 * listed), reads the body, carries out the request-level faults (slowHeaders, reset, status), and hands the
 * request to the route. The public control surface (EkuaibaoSandbox in ./types.ts) changes the shared state.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EkuaibaoForm } from '../../../functions/core/model/forms.js';
import { sha256OfContent } from './content.js';
import { sleepUnlessClosed } from './faults.js';
import { applyFormAction } from './form-actions.js';
import { formsPdf } from './form-pdf.js';
import { drain, type RequestContext, readBody, sendBytes, sendJson, sendJsonPlain } from './http.js';
import { processedBody } from './objects.js';
import { findRoute } from './routes/index.js';
import { invoiceProcess } from './routes/invoices.js';
import { emptyStats, SandboxState } from './state.js';
import type {
  EkuaibaoSandbox,
  IntegritySwitches,
  SandboxFault,
  SandboxFile,
  SandboxFormAction,
  SandboxFormChange,
  SandboxInvoice,
  SandboxOptions,
  SandboxOutboundConfig,
  SandboxOutboundDelivery,
  SandboxReceipt,
  SandboxStats,
} from './types.js';

class Sandbox implements EkuaibaoSandbox {
  readonly #state: SandboxState;
  readonly #server: Server;

  constructor(options: SandboxOptions) {
    this.#state = new SandboxState(options);
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          sendJsonPlain(res, 500, { errorCode: 500, errorMessage: `sandbox error: ${String(error)}` });
        } else {
          res.destroy();
        }
      });
    });
  }

  get baseUrl(): string {
    return this.#state.baseUrl;
  }
  get appKey(): string {
    return this.#state.appKey;
  }
  get appSecurity(): string {
    return this.#state.appSecurity;
  }
  get stats(): Required<SandboxStats> {
    return this.#state.stats;
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.#state.baseUrl = `http://${shownHost}:${address.port}`;
  }

  // ---- public control surface ------------------------------------------------------------------------------

  resetStats(): void {
    Object.assign(this.#state.stats, emptyStats());
  }

  addFile(file: SandboxFile): void {
    this.#state.addFile(file);
  }

  putForm(form: EkuaibaoForm): void {
    this.#state.putForm(form);
  }

  /** Deleting keeps the form's updateTime (unknown for the vendor: a client must not rely on a change). */
  deleteForm(id: string): void {
    const stored = this.#state.forms.get(id);
    if (stored) stored.deleted = true;
  }

  inject(fault: SandboxFault): void {
    this.#state.faults.inject(fault);
  }

  clearFaults(): void {
    this.#state.faults.clear();
  }

  revokeTokens(): void {
    this.#state.tokens = new Map();
  }

  issuedTokens(): string[] {
    return [...this.#state.issued];
  }

  async sha256(fileId: string): Promise<string> {
    const file = this.#state.files.get(fileId);
    if (!file) throw new RangeError(`sandbox has no file ${fileId}`);
    return sha256OfContent(file.seed ?? file.id, file.size);
  }

  addInvoice(invoice: SandboxInvoice): void {
    this.#state.addInvoice(invoice);
  }

  putReceipts(flowId: string, receipts: SandboxReceipt[]): void {
    this.#state.putReceipts(flowId, receipts);
  }

  changeForm(flowId: string, change?: SandboxFormChange): EkuaibaoForm {
    return this.#state.changeForm(flowId, change);
  }

  async objectSha256(key: string, process?: string): Promise<string> {
    const object = this.#state.objects.get(key);
    if (!object) throw new RangeError(`sandbox has no object ${key}`);
    const body = process === undefined ? object : processedBody(object.seed, object.size, process);
    return sha256OfContent(body.seed, body.size);
  }

  async invoiceSha256(invoiceId: string): Promise<string> {
    const invoice = this.#state.invoices.get(invoiceId);
    if (!invoice) throw new RangeError(`sandbox has no invoice ${invoiceId}`);
    return this.objectSha256(invoice.file.key, invoiceProcess(this.#state, invoice));
  }

  flowsPdf(flowIds: string[]): Buffer {
    const forms = flowIds.map((id) => {
      const stored = this.#state.forms.get(id);
      if (!stored) throw new RangeError(`sandbox has no form ${id}`);
      return stored.form;
    });
    return formsPdf(forms);
  }

  configureOutbound(config: SandboxOutboundConfig | undefined): void {
    this.#state.outbound.configure(config);
  }

  transitionForm(
    flowId: string,
    action: SandboxFormAction,
    options?: { attachment?: { fileName: string; size: number } },
  ): EkuaibaoForm {
    const { form, message } = applyFormAction(this.#state, flowId, action, options);
    this.#state.outbound.send(message);
    return form;
  }

  outboundSettled(): Promise<void> {
    return this.#state.outbound.settled();
  }

  outboundDeliveries(): SandboxOutboundDelivery[] {
    return structuredClone(this.#state.outbound.deliveries);
  }

  setIntegrity(switches: Partial<IntegritySwitches>): void {
    const { integrity } = this.#state;
    if (switches.crc64 !== undefined) integrity.crc64 = switches.crc64;
    if (switches.contentMd5 !== undefined) integrity.contentMd5 = switches.contentMd5;
  }

  async checksums(fileId: string): Promise<{ crc64: string; md5: string }> {
    const file = this.#state.files.get(fileId);
    if (!file) throw new RangeError(`sandbox has no file ${fileId}`);
    const seed = file.seed ?? file.id;
    const { checksums } = this.#state;
    const [crc64, md5] = await Promise.all([
      checksums.crc64(seed, file.size),
      checksums.md5(seed, file.size),
    ]);
    return { crc64, md5 };
  }

  async close(): Promise<void> {
    await this.#state.outbound.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  // ---- the request path ------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const route = findRoute(url.pathname);
    if (!route) {
      await drain(req);
      sendJsonPlain(res, 404, { errorCode: 404, errorMessage: `没有这个接口: ${url.pathname}` });
      return;
    }
    const ctx: RequestContext = { req, res, url, route: route.scope, body: undefined };
    if (req.method === 'POST') {
      const body = await readBody(req);
      if (body === 'too-large') {
        sendJson(ctx, 413, { errorCode: 413, errorMessage: '请求体过大' });
        return;
      }
      ctx.body = body;
    } else {
      await drain(req);
    }
    if (route.scope && !(await this.#requestFaults(ctx))) return;
    await route.handle(ctx, this.#state);
  }

  /** Carries out slowHeaders, reset and status faults aimed at this route; false when the request is done. */
  async #requestFaults(ctx: RequestContext): Promise<boolean> {
    const { faults } = this.#state;
    const scope = ctx.route!;
    const slow = faults.take('slowHeaders', scope);
    if (slow && !(await sleepUnlessClosed(ctx.res, slow.delayMs))) return false;
    const reset = faults.take('reset', scope);
    if (reset) {
      if (reset.afterBytes <= 0) {
        ctx.req.socket.resetAndDestroy();
        return false;
      }
      ctx.resetAfter = reset.afterBytes;
    }
    const status = faults.take('status', scope);
    if (!status) return true;
    const headers: Record<string, string> = {};
    if (status.retryAfterSeconds !== undefined) headers['retry-after'] = String(status.retryAfterSeconds);
    if (status.body !== undefined) {
      sendBytes(ctx, status.status, Buffer.from(status.body, 'utf8'), 'text/plain; charset=utf-8', headers);
    } else {
      sendJson(ctx, status.status, { errorCode: status.status, errorMessage: '注入的故障' }, headers);
    }
    return false;
  }
}

export async function startEkuaibaoSandbox(options: SandboxOptions = {}): Promise<EkuaibaoSandbox> {
  const sandbox = new Sandbox(options);
  await sandbox.listen(options.host ?? '127.0.0.1', options.port ?? 0);
  return sandbox;
}
