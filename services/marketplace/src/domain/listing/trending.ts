import { isInstallEvent } from '../install/install.ts';

/**
 * Trending: install velocity with exponential decay. Every install adds 1 and every uninstall -1, and each
 * contribution halves every HALF_LIFE (7 days), so an old burst fades and a steady stream of new installs
 * ranks above it:
 *
 *   score(now) = Σ w_i · 2^(-(now - t_i) / H)        w_i = +1 install, -1 uninstall, t_i = event time
 *
 * The projection stores each listing's weight relative to a fixed epoch T0,
 *
 *   weight = Σ w_i · 2^((t_i - T0) / H)              score(now) = weight · 2^(-(now - T0) / H)
 *
 * so nothing is re-decayed as time passes and ordering by weight is ordering by score (the factor is the same
 * for every listing). A weight reaches the float range's end after ~1,000 half-lives (~19 years past T0):
 * before then, move T0 and rebuild the projection. Event times come from the events, never the clock, so a
 * rebuild from the stream gives the same weights bit for bit.
 */
export const HALF_LIFE_MS = 7 * 24 * 3600 * 1000;
export const TREND_EPOCH_MS = Date.UTC(2026, 0, 1);

/** The weight one install (+1) or uninstall (-1) at `atMs` adds. */
export function trendContribution(delta: 1 | -1, atMs: number): number {
  return delta * 2 ** ((atMs - TREND_EPOCH_MS) / HALF_LIFE_MS);
}

/** The decayed score at `nowMs` of a stored weight: installs-equivalent of recent velocity. */
export function trendingScore(weight: number, nowMs: number): number {
  return weight * 2 ** (-(nowMs - TREND_EPOCH_MS) / HALF_LIFE_MS);
}

export interface ListingStats {
  active_installs: number;
  total_installs: number;
  trend_weight: number;
}

export const emptyStats = (): ListingStats => ({ active_installs: 0, total_installs: 0, trend_weight: 0 });

/** Folds one install event into a listing's stats (the projection and the tests' fold use this one function). */
export function evolveStats(s: ListingStats, e: { type: string; data: unknown }): ListingStats {
  if (!isInstallEvent(e)) return s;
  if (e.type === 'install.created') {
    return {
      active_installs: s.active_installs + 1,
      total_installs: s.total_installs + 1,
      trend_weight: s.trend_weight + trendContribution(1, Date.parse(e.data.installed_at)),
    };
  }
  return {
    ...s,
    active_installs: s.active_installs - 1,
    trend_weight: s.trend_weight + trendContribution(-1, Date.parse(e.data.removed_at)),
  };
}
