import { describe, expect, it } from 'vitest';
import { formatDuration, progressMeter, renderProgress } from '../scripts/ops-progress.ts';

describe('ops progress', () => {
  it('renders a bar with percent, counts, rate and ETA', () => {
    const line = renderProgress('rebuild partners', { done: 450, total: 1000, rate: 150, etaS: 3.67 }, 'ev', 10);
    expect(line).toBe('rebuild partners [████░░░░░░]  45.0%  450/1,000 ev  150 ev/s  ETA 0:04');
    expect(renderProgress('x', { done: 0, total: 0 }, 'ev', 4)).toBe('x [░░░░]   0.0%  0/0 ev');
    expect(renderProgress('x', { done: 7, total: 5 }, 'ev', 4)).toContain('100.0%');
  });

  it('measures the rate over its window and derives the ETA', () => {
    let t = 0;
    const meter = progressMeter(10_000, () => t);
    expect(meter(0, 1000)).toEqual({ done: 0, total: 1000 });
    t = 2000;
    const s = meter(200, 1000);
    expect(s.rate).toBe(100);
    expect(s.etaS).toBe(8);
    // Stalled: rate 0, no ETA.
    t = 30_000;
    meter(200, 1000);
    t = 31_000;
    expect(meter(200, 1000).etaS).toBeUndefined();
  });

  it('formats durations', () => {
    expect(formatDuration(59.6)).toBe('1:00');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});
