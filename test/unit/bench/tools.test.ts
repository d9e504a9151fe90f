import { describe, expect, it } from 'vitest';
import {
  cliCopyArgs,
  cliEnv,
  parseTimeLine,
  rcloneCopyArgs,
  rcloneEnv,
  warningsIn,
} from '../../bench/tools.js';

const s3 = { endpoint: 'http://127.0.0.1:4569', bucket: 'ekb-bench', region: 'us-east-1' };

/** The value after a flag, failing when the flag is absent. */
function flag(args: string[], name: string): string {
  const i = args.indexOf(name);
  if (i < 0) throw new Error(`no ${name} in ${args.join(' ')}`);
  return args[i + 1] as string;
}

describe('bench tools: the rclone command', () => {
  const args = rcloneCopyArgs({
    httpUrl: 'http://127.0.0.1:5000',
    dir: 'small-2000',
    s3,
    prefix: 'bench/vs-small-rclone-2',
    transfers: 8,
    checkers: 8,
  });

  it('copies the listing directory (trailing slash: no HEAD to find out) into the prefix', () => {
    expect(args.slice(0, 3)).toEqual([
      'copy',
      ':http:/small-2000/',
      ':s3:ekb-bench/bench/vs-small-rclone-2/',
    ]);
    expect(flag(args, '--http-url')).toBe('http://127.0.0.1:5000');
  });

  it('sets transfers and checkers as asked', () => {
    expect(flag(args, '--transfers')).toBe('8');
    expect(flag(args, '--checkers')).toBe('8');
  });

  it('configures S3 for s3rver entirely by flags, with the configuration in memory (no rclone.conf)', () => {
    expect(flag(args, '--config')).toBe('');
    expect(flag(args, '--s3-provider')).toBe('Other');
    expect(flag(args, '--s3-endpoint')).toBe(s3.endpoint);
    expect(flag(args, '--s3-region')).toBe('us-east-1');
    expect(flag(args, '--s3-access-key-id')).toBe('S3RVER');
    expect(flag(args, '--s3-secret-access-key')).toBe('S3RVER');
    expect(args).toContain('--s3-force-path-style');
  });

  it('leaves rclone its default behaviour: no option that skips its own checks', () => {
    for (const f of [
      '--s3-no-head',
      '--http-no-head',
      '--no-traverse',
      '--s3-no-check-bucket',
      '--ignore-existing',
    ]) {
      expect(args).not.toContain(f);
    }
  });

  it('runs rclone with a HOME of its own and nothing else of the caller', () => {
    expect(rcloneEnv('/usr/bin', '/tmp/h')).toEqual({
      PATH: '/usr/bin',
      HOME: '/tmp/h',
      XDG_CONFIG_HOME: '/tmp/h/.config',
      XDG_CACHE_HOME: '/tmp/h/.cache',
    });
  });
});

describe('bench tools: the CLI command', () => {
  it('runs copy with the manifest, bucket, concurrency and key template', () => {
    const args = cliCopyArgs({
      manifest: '/tmp/m.jsonl',
      bucket: 'ekb-bench',
      concurrency: 8,
      keyTemplate: 'bench/p/{fileName}',
    });
    expect(args[0]).toBe('copy');
    expect(flag(args, '--manifest')).toBe('/tmp/m.jsonl');
    expect(flag(args, '--bucket')).toBe('ekb-bench');
    expect(flag(args, '--concurrency')).toBe('8');
    expect(flag(args, '--key-template')).toBe('bench/p/{fileName}');
  });

  it('passes only the documented EKB_* and AWS SDK keys, none of the caller’s environment', () => {
    const env = cliEnv({
      ekbBaseUrl: 'http://127.0.0.1:7000',
      appKey: 'k',
      appSecurity: 's',
      s3,
      path: '/usr/bin',
      home: '/tmp/h',
    });
    expect(Object.keys(env).sort()).toEqual(
      [
        'AWS_ACCESS_KEY_ID',
        'AWS_EC2_METADATA_DISABLED',
        'AWS_ENDPOINT_URL_S3',
        'AWS_REGION',
        'AWS_SECRET_ACCESS_KEY',
        'EKB_ALLOW_INSECURE_DOWNLOADS',
        'EKB_APP_KEY',
        'EKB_APP_SECURITY',
        'EKB_BASE_URL',
        'HOME',
        'PATH',
      ].sort(),
    );
    expect(env.AWS_ENDPOINT_URL_S3).toBe(s3.endpoint);
    expect(env.EKB_BASE_URL).toBe('http://127.0.0.1:7000');
  });
});

describe('bench tools: GNU time output', () => {
  it('reads user, system, peak RSS and exit status', () => {
    expect(parseTimeLine('6.31 0.85 300412 0\n')).toEqual({
      userMs: 6_310,
      sysMs: 850,
      maxRssBytes: 300_412 * 1024,
      exitCode: 0,
    });
  });

  it('reads the last line when time adds one for a non-zero exit', () => {
    expect(parseTimeLine('Command exited with non-zero status 3\n0.10 0.02 51200 3\n').exitCode).toBe(3);
  });

  it('throws on output it does not understand instead of reporting zeros', () => {
    expect(() => parseTimeLine('Command terminated by signal 9\n')).toThrow(/GNU time/);
    expect(() => parseTimeLine('')).toThrow(/GNU time/);
  });
});

describe('bench tools: warnings a run printed', () => {
  it('picks rclone’s ERROR and NOTICE lines, counts them and shows the first two', () => {
    const out = [
      '2026/11/30 07:10:01 ERROR : a.bin: Failed to copy: connection reset by peer',
      '2026/11/30 07:10:02 NOTICE: b.bin: retrying',
      '2026/11/30 07:10:03 ERROR : c.bin: Failed to copy: x',
      'Transferred: 3 / 3, 100%',
    ].join('\n');
    const w = warningsIn('rclone', out);
    expect(w[0]).toBe('3 line(s)');
    expect(w).toHaveLength(3);
    expect(w[1]).toContain('a.bin');
  });

  it('picks the CLI’s failed lines and warn/error log lines, not its per-file "copied" lines or summary', () => {
    const out = [
      'copied   f-1 "k1" → bench/p/a.bin',
      'failed   f-2 "k2": http_5xx: 合思 answered 503',
      '{"level":"warn","message":"retrying downloadurls"}',
      '{"level":"info","message":"batch done"}',
      '2000 copied, 0 skipped, 0 failed',
    ].join('\n');
    const w = warningsIn('ekb', out);
    expect(w[0]).toBe('2 line(s)');
    expect(w.slice(1).join('\n')).toMatch(/^failed {3}f-2/);
  });

  it('says nothing for a clean run, and keeps Markdown table cells intact', () => {
    expect(warningsIn('rclone', 'Transferred: 1\n')).toEqual([]);
    expect(warningsIn('rclone', 'ERROR : a|b')[1]).toBe('ERROR : a/b');
  });
});
