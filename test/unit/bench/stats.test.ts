import { describe, expect, it } from 'vitest';
import { countsAcross, median } from '../../bench/stats.js';

describe('bench stats', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('shows one count per request kind when every run agreed and a range when they did not', () => {
    expect(
      countsAcross([
        { PUT: 2000, HEAD: 2000 },
        { PUT: 2000, HEAD: 2000 },
      ]),
    ).toBe('PUT 2000, HEAD 2000');
    expect(
      countsAcross([
        { PUT: 2000, HEAD: 2000 },
        { PUT: 2003, HEAD: 2000 },
      ]),
    ).toBe('PUT 2000–2003, HEAD 2000');
    // A kind one run never made counts as zero for it.
    expect(countsAcross([{ PUT: 1 }, { PUT: 1, 'create bucket': 1 }])).toBe('PUT 1, create bucket 0–1');
  });
});
