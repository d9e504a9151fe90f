import { describe, expect, it } from 'vitest';
import {
  choosePartSize,
  MAX_PART_BYTES,
  MAX_PARTS,
  MIN_PART_BYTES,
} from '../../../../functions/core/copy/part-size.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

describe('choosePartSize', () => {
  it('uses the floor for unknown and ordinary lengths', () => {
    expect(choosePartSize(undefined)).toBe(8 * MIB);
    expect(choosePartSize(3 * GIB)).toBe(8 * MIB);
    expect(choosePartSize(1 * GIB, 16 * MIB)).toBe(16 * MIB);
  });

  it('raises the part size so a huge file needs at most 10,000 parts', () => {
    for (const size of [79 * GIB, 200 * GIB, 1024 * GIB, 5 * 1024 * GIB]) {
      const part = choosePartSize(size);
      expect(Math.ceil(size / part)).toBeLessThanOrEqual(MAX_PARTS);
      expect(part % MIB).toBe(0);
    }
  });

  it('keeps the floor within the S3 part limits', () => {
    expect(choosePartSize(10 * MIB, 1)).toBe(MIN_PART_BYTES);
    expect(choosePartSize(10 * MIB, 10 * 1024 * GIB)).toBe(MAX_PART_BYTES);
  });
});
