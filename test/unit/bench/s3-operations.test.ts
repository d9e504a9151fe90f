import { describe, expect, it } from 'vitest';
import { s3OperationOf } from '../../bench/s3-operations.js';

describe('bench: naming the S3 operation of a path-style request', () => {
  it('tells object reads and writes from bucket-level calls', () => {
    expect(s3OperationOf('PUT', '/b/bench/p/a.bin?x-id=PutObject')).toBe('PUT object');
    expect(s3OperationOf('HEAD', '/b/bench/p/a.bin')).toBe('HEAD object');
    expect(s3OperationOf('GET', '/b?list-type=2&prefix=bench%2Fp%2F')).toBe('list');
    expect(s3OperationOf('GET', '/b/?prefix=bench%2Fp%2F&delimiter=%2F')).toBe('list');
    expect(s3OperationOf('HEAD', '/b')).toBe('head bucket');
    expect(s3OperationOf('PUT', '/b')).toBe('create bucket');
  });

  it('names each step of a multipart upload', () => {
    expect(s3OperationOf('POST', '/b/big.bin?uploads')).toBe('create multipart');
    expect(s3OperationOf('PUT', '/b/big.bin?partNumber=3&uploadId=u1')).toBe('upload part');
    expect(s3OperationOf('POST', '/b/big.bin?uploadId=u1')).toBe('complete multipart');
    expect(s3OperationOf('DELETE', '/b/big.bin?uploadId=u1')).toBe('abort multipart');
  });

  it('sets the report lane (jobs/) apart from archived files, also when the slash is encoded', () => {
    expect(s3OperationOf('PUT', '/b/jobs/j1/job.json')).toBe('PUT object (jobs/)');
    expect(s3OperationOf('GET', '/b/jobs%2Fj1%2Fjob.json')).toBe('GET object (jobs/)');
    expect(s3OperationOf('PUT', '/b/bench/jobs/x.bin')).toBe('PUT object');
  });
});
