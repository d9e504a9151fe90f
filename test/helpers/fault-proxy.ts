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

const REQUEST_LINE = /(?:^|\r\n)(GET|PUT|POST|DELETE|HEAD) (\S+) HTTP\/1\.1\r\n/g;

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
    let tail = '';
    const end = (): void => {
      pairs.delete(pair);
      cut(client);
      cut(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.on('data', (chunk: Buffer) => {
      // Request lines only ever start a request; keep a short tail so one split across two chunks is still seen.
      const text = tail + chunk.toString('latin1');
      for (const m of text.matchAll(REQUEST_LINE)) lines.push(`${m[1]} ${m[2]}`);
      const lastBreak = text.lastIndexOf('\r\n');
      tail = (lastBreak < 0 ? text : text.slice(lastBreak)).slice(-300);
    });
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
