import { describe, expect, it } from 'vitest';
import { emptyStats, evolveStats, HALF_LIFE_MS, trendContribution, trendingScore } from '../src/domain/listing/trending.ts';

const DAY = 24 * 3600 * 1000;
const at = (iso: string) => Date.parse(iso);
const installAt = (iso: string) => ({ type: 'install.created', data: { installed_at: iso } });
const uninstallAt = (iso: string) => ({ type: 'install.removed', data: { removed_at: iso } });

describe('trending (exponential decay, half-life 7 days)', () => {
  it('counts an install as 1 at its own time and halves it every 7 days', () => {
    const t = at('2026-12-01T00:00:00Z');
    const w = trendContribution(1, t);
    expect(trendingScore(w, t)).toBeCloseTo(1, 12);
    expect(trendingScore(w, t + HALF_LIFE_MS)).toBeCloseTo(0.5, 12);
    expect(trendingScore(w, t + 2 * HALF_LIFE_MS)).toBeCloseTo(0.25, 12);
    expect(HALF_LIFE_MS).toBe(7 * DAY);
  });

  it('lets an old burst fade below a recent trickle', () => {
    const now = at('2026-12-31T00:00:00Z');
    let burst = emptyStats();
    for (let i = 0; i < 100; i++) burst = evolveStats(burst, installAt('2026-10-01T00:00:00Z'));
    let trickle = emptyStats();
    for (let d = 1; d <= 10; d++) trickle = evolveStats(trickle, installAt(new Date(now - d * DAY).toISOString()));
    expect(burst.active_installs).toBe(100);
    expect(trendingScore(trickle.trend_weight, now)).toBeGreaterThan(trendingScore(burst.trend_weight, now));
    // and ordering by the stored weight is ordering by the score at any time
    expect(trickle.trend_weight).toBeGreaterThan(burst.trend_weight);
  });

  it('takes an uninstall off the velocity and off the active count, not off the total', () => {
    let s = evolveStats(emptyStats(), installAt('2026-12-01T00:00:00Z'));
    s = evolveStats(s, uninstallAt('2026-12-01T00:00:00Z'));
    expect(s).toMatchObject({ active_installs: 0, total_installs: 1 });
    expect(trendingScore(s.trend_weight, at('2026-12-02T00:00:00Z'))).toBeCloseTo(0, 12);
  });
});
