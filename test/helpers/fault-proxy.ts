/**
 * A TCP proxy on 127.0.0.1:0 in front of another local server (s3rver in the fault suite), with switches for the
 * ways a store goes away mid-upload:
 * - `pass`: bytes flow both ways;
 * - `reset`: every open connection is cut with a TCP RST now, and new ones are reset on arrival;
 * - `refuse`: the listener closes (new connections get ECONNREFUSED) and open connections are reset; going back
 *   to `pass` listens again on the same port.
 * It also notes the HTTP request lines it forwards (plain-text HTTP only), so tests can see e.g. which multipart
 * uploads the client tried to abort.
 */
import { createServer, type Server, Socket } from 'node:net';

export type ProxyMode = 'pass' | 'reset' | 'refuse';

export interface FaultProxy {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly mode: ProxyMode;
  setMode(mode: ProxyMode): Promise<void>;
  readonly stats: { connections: number; resets: number };
  /** "METHOD target" of every request line seen from clients so far. */
  requestLines(): string[];
  close(): Promise<void>;
}

const REQUEST_LINE = /^(GET|PUT|POST|DELETE|HEAD) (\S+) HTTP\/1\.1$/;

/**
 * The request lines of one client connection, read the way the server reads them: a header block, then as many body
 * bytes as its Content-Length says, then the next request. (Looking for a request line after a line break missed a
 * request that followed a binary body on a kept-alive connection, such as an abort right after a part.) A chunked
 * body is read chunk by chunk to its last, empty chunk.
 */
function requestLineReader(onLine: (line: string) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let body = 0;
  let chunked = false;
  const step = (): boolean => {
    if (body > 0) {
      const n = Math.min(body, pending.length);
      body -= n;
      pending = pending.subarray(n);
      return n > 0;
    }
    if (chunked) {
      const eol = pending.indexOf('\r\n');
      if (eol < 0) return false;
      const size = Number.parseInt(pending.subarray(0, eol).toString('latin1'), 16);
      if (!Number.isFinite(size)) return false;
      if (size === 0) {
        const end = pending.indexOf('\r\n\r\n', Math.max(eol - 2, 0));
        if (end < 0) return false;
        pending = pending.subarray(end + 4);
        chunked = false;
        return true;
      }
      pending = pending.subarray(eol + 2);
      body = size + 2;
      return true;
    }
    const headEnd = pending.indexOf('\r\n\r\n');
    if (headEnd < 0) return false;
    const [first = '', ...headers] = pending.subarray(0, headEnd).toString('latin1').split('\r\n');
    pending = pending.subarray(headEnd + 4);
    const m = REQUEST_LINE.exec(first);
    if (m) onLine(`${m[1]} ${m[2]}`);
    for (const h of headers) {
      const [name = '', value = ''] = h.split(/:\s*/, 2);
      if (/^content-length$/i.test(name)) body = Number(value) || 0;
      if (/^transfer-encoding$/i.test(name) && /chunked/i.test(value)) chunked = true;
    }
    return true;
  };
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length > 0 && step()) {}
  };
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const lines: string[] = [];
  const stats = { connections: 0, resets: 0 };
  let mode: ProxyMode = 'pass';
  let port = 0;

  const cut = (s: Socket): void => {
    if (!s.destroyed) s.resetAndDestroy();
  };

  const onConnection = (client: Socket): void => {
    stats.connections += 1;
    if (mode !== 'pass') {
      stats.resets += 1;
      client.on('error', () => {});
      cut(client);
      return;
    }
    const upstream = new Socket();
    const pair = { client, upstream };
    pairs.add(pair);
    const read = requestLineReader((line) => lines.push(line));
    const end = (): void => {
      pairs.delete(pair);
      cut(client);
      cut(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.on('data', read);
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.connect(target.port, target.host);
  };

  let server: Server = createServer(onConnection);
  const listen = (s: Server): Promise<void> =>
    new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
  await listen(server);
  port = (server.address() as { port: number }).port;

  const cutAll = (): void => {
    for (const { client, upstream } of pairs) {
      stats.resets += 1;
      cut(client);
      cut(upstream);
    }
    pairs.clear();
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    stats,
    requestLines: () => [...lines],
    async setMode(next) {
      if (next === mode) return;
      const previous = mode;
      mode = next;
      if (next !== 'pass') cutAll();
      if (next === 'refuse') {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      } else if (previous === 'refuse') {
        server = createServer(onConnection);
        await listen(server);
      }
    },
    async close() {
      cutAll();
      if (mode !== 'refuse') await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
