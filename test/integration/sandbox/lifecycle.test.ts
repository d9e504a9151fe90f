import { connect } from 'node:net';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { demoFiles } from '../../../infra/local/sandbox/demo-data.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import { downloadUrls, getToken } from './sandbox-client.js';

const pdf = demoFiles().find(
  (f) => f.fileName.endsWith('.pdf') && !f.key.startsWith('DP:') && f.size > 20_000,
)!;

describe('sandbox lifecycle', () => {
  it('close() ends open downloads, even one stalled forever, and frees the port', async () => {
    const sandbox = await startEkuaibaoSandbox();
    const token = await getToken(sandbox);
    const { answers } = await downloadUrls(sandbox, token, [{ id: pdf.id, key: pdf.key, expiration: 600 }]);
    sandbox.inject({ kind: 'stallBody', route: 'download', afterBytes: 100 });
    const res = await request(answers[0]!.url);
    const reading = (async () => {
      for await (const _ of res.body) {
        // keep reading until the server goes away
      }
    })();

    await sandbox.close();

    await expect(reading).rejects.toBeInstanceOf(Error);
    await expect(fetch(`${sandbox.baseUrl}/`)).rejects.toBeInstanceOf(Error);
  });

  it('truncate sends the announced headers, the first bytes, then FIN without the rest', async () => {
    const sandbox = await startEkuaibaoSandbox();
    try {
      const token = await getToken(sandbox);
      const { answers } = await downloadUrls(sandbox, token, [{ id: pdf.id, key: pdf.key, expiration: 600 }]);
      sandbox.inject({ kind: 'truncate', route: 'download', afterBytes: 1234 });
      const url = new URL(answers[0]!.url);

      const raw = await new Promise<{ text: Buffer; error?: Error }>((resolve) => {
        const socket = connect(Number(url.port), url.hostname);
        const parts: Buffer[] = [];
        socket.on('data', (d: Buffer) => parts.push(d));
        socket.on('end', () => resolve({ text: Buffer.concat(parts) }));
        socket.on('error', (error) => resolve({ text: Buffer.concat(parts), error }));
        socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
      });

      const split = raw.text.indexOf('\r\n\r\n');
      const head = raw.text.subarray(0, split).toString('latin1');
      expect(raw.error).toBeUndefined();
      expect(head).toMatch(/^HTTP\/1\.1 200/);
      expect(head.toLowerCase()).toContain(`content-length: ${pdf.size}`);
      expect(raw.text.length - split - 4).toBe(1234);
    } finally {
      await sandbox.close();
    }
  });
});
