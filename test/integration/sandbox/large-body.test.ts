import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { contentChunks } from '../../../infra/local/sandbox/content.js';
import { startEkuaibaoSandbox } from '../../../infra/local/sandbox/server.js';
import type { EkuaibaoSandbox } from '../../../infra/local/sandbox/types.js';
import { downloadUrls, getToken } from './sandbox-client.js';

const GIB = 1024 * 1024 * 1024;
/** Generous: a server that buffered the body would grow by about 1 GiB. */
const RSS_GROWTH_LIMIT = 100 * 1024 * 1024;

/**
 * The client runs in a child process so that only the server's memory is measured here: the client's own
 * garbage (1 GiB of received chunks) would otherwise blur the number.
 */
const CLIENT = `
const res = await fetch(process.argv[1]);
let bytes = 0; let head = ''; let tail = Buffer.alloc(0);
for await (const chunk of res.body) {
  const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (!head) head = b.subarray(0, 64).toString('hex');
  bytes += b.length;
  tail = b.length >= 64 ? b.subarray(b.length - 64) : Buffer.concat([tail, b]).subarray(-64);
}
console.log(JSON.stringify({ status: res.status, length: res.headers.get('content-length'), bytes, head, tail: tail.toString('hex') }));
`;

describe('sandbox large bodies', () => {
  let sandbox: EkuaibaoSandbox;

  beforeAll(async () => {
    sandbox = await startEkuaibaoSandbox({ files: [], forms: [] });
    sandbox.addFile({ id: 'big1', key: 'openapibig-1GiB.bin', fileName: '1GiB.bin', size: GIB });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('streams a 1 GiB body without holding it in memory', async () => {
    const token = await getToken(sandbox);
    const { answers } = await downloadUrls(sandbox, token, [
      { id: 'big1', key: 'openapibig-1GiB.bin', expiration: 600 },
    ]);
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 20);

    let output: string;
    try {
      ({ stdout: output } = await promisify(execFile)(
        process.execPath,
        ['--input-type=module', '-e', CLIENT, answers[0]!.url],
        { maxBuffer: 1024 * 1024 },
      ));
    } finally {
      clearInterval(sampler);
    }
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    const got = JSON.parse(output) as {
      status: number;
      length: string;
      bytes: number;
      head: string;
      tail: string;
    };

    expect(got.status).toBe(200);
    expect(got.length).toBe(String(GIB));
    expect(got.bytes).toBe(GIB);
    // Spot-check both ends against the generator (a full hash would double the test's time).
    expect(got.head).toBe(Buffer.concat([...contentChunks('big1', 0, 64)]).toString('hex'));
    expect(got.tail).toBe(Buffer.concat([...contentChunks('big1', GIB - 64, GIB)]).toString('hex'));
    expect(rssPeak - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT);
    await vi.waitFor(() => expect(sandbox.stats.downloadsCompleted).toBe(1));
  });
});
