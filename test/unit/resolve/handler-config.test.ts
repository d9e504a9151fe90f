/** The deployed `handler`: built from the environment on first use, so bad config answers 500 instead of crashing. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../functions/resolve/handler.js';
import { lambdaContext, loadEvent } from './fixtures.js';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('resolve handler built from config', () => {
  it('imports without config, answers 500 for bad config and logs which key is wrong', async () => {
    vi.stubEnv('EKB_BASE_URL', 'ftp://nowhere.example');
    vi.stubEnv('EKB_RESOLVE_MAX_REFS', 'lots');
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const res = await handler(loadEvent(), lambdaContext());
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body).error.code).toBe('internal_error');
    const log = written.join('');
    expect(log).toContain('EKB_BASE_URL must be an http(s) URL');
    expect(log).toContain('EKB_RESOLVE_MAX_REFS must be an integer');
  });

  it('once config is good, answers 400 for bad input and a generic 500 when no credentials are configured', async () => {
    vi.stubEnv('EKB_BASE_URL', 'http://127.0.0.1:9');
    vi.stubEnv('EKB_APP_KEY', '');
    vi.stubEnv('EKB_APP_SECURITY', '');
    vi.stubEnv('EKB_CREDENTIALS_SECRET', '');
    vi.stubEnv('LOG_LEVEL', 'error');
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const bad = loadEvent();
    bad.body = '[{"id":"a"}]';
    expect((await handler(bad, lambdaContext())).statusCode).toBe(400);
    const res = await handler(loadEvent(), lambdaContext());
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('credentials');
    expect(written.join('')).toContain('no 合思 credentials');
  });
});
