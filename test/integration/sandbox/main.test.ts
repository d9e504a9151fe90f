import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { call } from './sandbox-client.js';

const MAIN = fileURLToPath(new URL('../../../infra/local/sandbox/main.ts', import.meta.url));

describe('sandbox main (standalone)', () => {
  it('prints the base URL and demo credentials, serves them, and exits 0 on SIGINT', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let out = '';
      const banner = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString('utf8');
          if (out.includes('Ctrl-C')) resolve(out);
        });
        child.on('exit', () => reject(new Error(`main exited early: ${out}`)));
      });
      const value = (name: string) => new RegExp(`${name}=(\\S+)`).exec(banner)?.[1] ?? '';

      const token = await call(`${value('EKB_BASE_URL')}/api/openapi/v1/auth/getAccessToken`, {
        method: 'POST',
        body: JSON.stringify({ appKey: value('EKB_APP_KEY'), appSecurity: value('EKB_APP_SECURITY') }),
      });
      expect(token.status).toBe(200);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
