import { describe, expect, it } from 'vitest';
import { AppError, EkuaibaoAuthError, ValidationError } from '../../../functions/core/errors.js';
import {
  EXIT,
  explainError,
  PreflightError,
  RunStoppedError,
  UsageError,
} from '../../../infra/local/cli/cli-errors.js';

const s3Error = (name: string, status: number) =>
  Object.assign(new Error(name === 'NotFound' ? 'UnknownError' : `${name} message`), {
    name,
    $metadata: { httpStatusCode: status },
  });

describe('explainError: one line and the documented exit code for whatever stops a command', () => {
  it('says which file could not be read, as a usage error', () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'm.jsonl'"), {
      code: 'ENOENT',
      path: 'm.jsonl',
      syscall: 'open',
    });
    expect(explainError(enoent)).toEqual({
      message: 'cannot read m.jsonl: no such file or directory (ENOENT)',
      exitCode: EXIT.usage,
    });
  });

  it('finds the S3 error an adapter wrapped and says what to check', () => {
    const wrapped = new AppError('report_write_failed', 'could not write s3://b/jobs/k/cli-run.json', {
      cause: s3Error('NoSuchBucket', 404),
    });
    expect(explainError(wrapped)).toEqual({
      message:
        'S3 answered NoSuchBucket: the bucket does not exist (check --bucket / EKB_BUCKET, and AWS_ENDPOINT_URL_S3)',
      exitCode: EXIT.fatal,
    });
    expect(explainError(s3Error('NotFound', 404)).message).toMatch(/the bucket does not exist/);
    expect(explainError(s3Error('Forbidden', 403)).message).toMatch(/^S3 answered AccessDenied: /);
    expect(explainError(s3Error('InvalidAccessKeyId', 403)).message).toMatch(
      /^S3 refused the AWS credentials/,
    );
    expect(explainError(s3Error('PermanentRedirect', 301)).message).toMatch(/set AWS_REGION/);
  });

  it('prefixes what a check before the first batch was about, and keeps exit 3 (2 for a usage cause)', () => {
    const preflight = new PreflightError('the bucket b cannot be written', s3Error('AccessDenied', 403));
    expect(explainError(preflight)).toEqual({
      message: expect.stringMatching(/^the bucket b cannot be written: S3 answered AccessDenied: /),
      exitCode: EXIT.fatal,
    });
    const refused = new PreflightError(undefined, new EkuaibaoAuthError('token refused'));
    expect(explainError(refused, { ekbBaseUrl: 'https://dd2.hosecloud.com' })).toEqual({
      message:
        '合思 refused the credentials: check EKB_APP_KEY / EKB_APP_SECURITY for dd2.hosecloud.com (token refused)',
      exitCode: EXIT.fatal,
    });
    expect(explainError(new PreflightError('x', new UsageError('bad'))).exitCode).toBe(EXIT.usage);
  });

  it('says a run stopped part way, with its cause and code', () => {
    expect(explainError(new RunStoppedError(new EkuaibaoAuthError('refused again')))).toMatchObject({
      message: expect.stringMatching(/^stopped: 合思 refused the credentials/),
      exitCode: EXIT.fatal,
    });
    expect(
      explainError(new RunStoppedError(new ValidationError('job k1 was created from other input'))),
    ).toEqual({
      message: 'stopped: job k1 was created from other input',
      exitCode: EXIT.usage,
    });
  });

  it('shows an unknown failure by its code, redacted, exit 3', () => {
    const err = new AppError('upload_failed', 'PUT https://b.s3.test/k?X-Amz-Signature=SECRETSIG failed');
    const out = explainError(err);
    expect(out.exitCode).toBe(EXIT.fatal);
    expect(out.message).toMatch(/^upload_failed: /);
    expect(out.message).not.toContain('SECRETSIG');
  });
});
