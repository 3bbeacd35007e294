// How much a per-poll figure grows over a run of polls: the large study's "flat across the polls" rule.

/** Polls in each end of the comparison: a quarter of them, at least one. */
export function quarterOf(count: number): number {
  return Math.max(1, Math.floor(count / 4));
}

/**
 * The mean of the last quarter of `values` over the mean of the first quarter (1 when flat). With equal batches,
 * the same ratio per new instance. NaN (printed "-") when there are no values or the first quarter's mean is not
 * positive, where a ratio means nothing.
 */
export function lastOverFirstQuarter(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const quarter = quarterOf(values.length);
  const mean = (part: readonly number[]) => part.reduce((sum, value) => sum + value, 0) / part.length;
  const first = mean(values.slice(0, quarter));
  return first > 0 ? mean(values.slice(-quarter)) / first : Number.NaN;
}
