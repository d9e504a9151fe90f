/**
 * The fault suite's proxy notes every request line it forwards, also one that follows a binary body on a kept-alive
 * connection (an AbortMultipartUpload right after an UploadPart): the suite's "no upload abandoned" check counts on it.
 */
import { createServer, type Server, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../helpers/fault-proxy.js';

let sink: Server;
let proxy: FaultProxy;

beforeAll(async () => {
  // A server that only swallows bytes: the proxy's notes are what is tested.
  sink = createServer((s) => {
    s.on('data', () => {});
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  proxy = await startFaultProxy({ host: '127.0.0.1', port: (sink.address() as { port: number }).port });
});

afterAll(async () => {
  await proxy.close();
  await new Promise((resolve) => sink.close(resolve));
});

async function send(parts: Buffer[]): Promise<void> {
  const port = Number(new URL(proxy.endpoint).port);
  const socket = new Socket();
  await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
  for (const p of parts) {
    socket.write(p);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  socket.destroy();
}

describe('fault proxy request lines', () => {
  it('sees each request on a kept-alive connection, after a body that ends in any byte and is split anywhere', async () => {
    const body = Buffer.from('part bytes\r\nwith a line break, and a last byte that is not one: x');
    const put = Buffer.concat([
      Buffer.from(
        `PUT /b/k?partNumber=1&uploadId=u1 HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`,
      ),
      body,
    ]);
    const del = Buffer.from('DELETE /b/k?uploadId=u1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    const chunked = Buffer.from(
      'POST /b/k?uploads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nDELE\r\n0\r\n\r\n',
    );
    const get = Buffer.from('GET /b/k HTTP/1.1\r\nHost: x\r\n\r\n');
    const stream = Buffer.concat([put, del, chunked, get]);
    // Cut into pieces at awkward places: inside the body, inside a request line, inside a header.
    await send([
      stream.subarray(0, 70),
      stream.subarray(70, 120),
      stream.subarray(120, 131),
      stream.subarray(131),
    ]);
    expect(proxy.requestLines()).toEqual([
      'PUT /b/k?partNumber=1&uploadId=u1',
      'DELETE /b/k?uploadId=u1',
      'POST /b/k?uploads',
      'GET /b/k',
    ]);
  });
});
