/**
 * Ratings as the listing shows them: a plain mean and the IMDb weighted rating used for sorting,
 *
 *   WR = (v · R + m · C) / (v + m)
 *
 * with v the listing's review count, R its mean, C the mean of every review in the marketplace and m = 10:
 * a listing needs about ten reviews before its own mean weighs as much as the prior, so one 5-star review does
 * not outrank a long record of 4.8s unless the whole marketplace rates close to 5 (then C itself is near 5).
 */
export const BAYES_M = 10;

export function plainMean(count: number, sum: number): number | null {
  return count > 0 ? sum / count : null;
}

export function bayesianRating(count: number, sum: number, prior: number | null): number | null {
  if (count === 0) return null;
  if (prior === null) return sum / count;
  return (sum + BAYES_M * prior) / (count + BAYES_M);
}
