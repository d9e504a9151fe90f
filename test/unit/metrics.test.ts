import { describe, expect, it } from 'vitest';
import { emfLine, emitMetrics } from '../../functions/metrics.js';

describe('emfLine', () => {
  it('writes an Embedded Metric Format document CloudWatch accepts', () => {
    const line = emfLine(
      { FilesCopied: { value: 3, unit: 'Count' }, BytesCopied: { value: 1024, unit: 'Bytes' } },
      { dimensions: { Function: 'copy' }, now: () => 1_772_769_600_000 },
    );
    expect(JSON.parse(line)).toEqual({
      _aws: {
        Timestamp: 1_772_769_600_000,
        CloudWatchMetrics: [
          {
            Namespace: 'EkbArchive',
            Dimensions: [['Function']],
            Metrics: [
              { Name: 'FilesCopied', Unit: 'Count' },
              { Name: 'BytesCopied', Unit: 'Bytes' },
            ],
          },
        ],
      },
      Function: 'copy',
      FilesCopied: 3,
      BytesCopied: 1024,
    });
  });

  it('emits one line to the writer', () => {
    const lines: string[] = [];
    emitMetrics(
      { ReResolves: { value: 1, unit: 'Count' } },
      { dimensions: { Function: 'copy' }, write: (l) => lines.push(l) },
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(JSON.parse(lines[0] ?? '{}').ReResolves).toBe(1);
  });
});
