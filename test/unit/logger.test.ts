import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from '../../functions/logger.js';

function capture(level: LogLevel = 'debug') {
  const lines: Array<{ level: LogLevel; entry: Record<string, unknown> }> = [];
  const logger = createLogger({
    level,
    service: 'test',
    write: (line, l) => lines.push({ level: l, entry: JSON.parse(line) }),
  });
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line with level, time, service, message and fields', () => {
    const { logger, lines } = capture();
    logger.info('batch done', { copied: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.entry).toMatchObject({
      level: 'info',
      service: 'test',
      message: 'batch done',
      copied: 3,
    });
    expect(Date.parse(lines[0]?.entry.time as string)).not.toBeNaN();
  });

  it('drops lines below the configured level', () => {
    const { logger, lines } = capture('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((l) => l.level)).toEqual(['warn', 'error']);
  });

  it('carries child fields (request, job, batch ids) on every line', () => {
    const { logger, lines } = capture();
    logger.child({ jobId: 'j1' }).child({ batchId: 'b00001' }).info('x', { n: 1 });
    expect(lines[0]?.entry).toMatchObject({ jobId: 'j1', batchId: 'b00001', n: 1 });
  });

  it('never writes a token, signed-URL query or download header', () => {
    const { logger, lines } = capture();
    logger.error('GET https://b.aliyuncs.com/f.pdf?Expires=1&Signature=SIG123 failed', {
      accessToken: 'ID01x:TOKEN',
      headers: { Authorization: 'OSS id:HEADERSIG' },
      err: new Error('retry with accessToken=ID01x:TOKEN'),
    });
    const text = JSON.stringify(lines);
    for (const secret of ['SIG123', 'TOKEN', 'HEADERSIG']) expect(text).not.toContain(secret);
  });
});
