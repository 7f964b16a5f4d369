/** The seed's reminder thresholds, in tool calls. */
export const defaultConvergenceWarnings: readonly number[] = [50, 100, 200, 500];

/** Rising firmness, one level per threshold crossed (the last level repeats for further thresholds). */
export const reminderLevels = [
  'consider wrapping up',
  'time to converge',
  'please synthesise your findings',
  'CRITICAL: give the final answer now',
] as const;

export type ReminderLevel = (typeof reminderLevels)[number];

export interface ConvergenceThreshold {
  /** Tool calls made when the reminder is due. */
  calls: number;
  level: ReminderLevel;
}

/**
 * The thresholds that apply under a hard limit: sorted, de-duplicated, those at or above `maxIterations` dropped
 * (the limit itself ends the run), each paired with its level of firmness.
 */
export function convergenceSchedule(
  warnings: readonly number[] = defaultConvergenceWarnings,
  maxIterations = Number.POSITIVE_INFINITY,
): ConvergenceThreshold[] {
  const thresholds = [...new Set(warnings)]
    .filter((n) => Number.isInteger(n) && n > 0 && n < maxIterations)
    .sort((a, b) => a - b);
  return thresholds.map((calls, i) => ({
    calls,
    level: reminderLevels[Math.min(i, reminderLevels.length - 1)] as ReminderLevel,
  }));
}

/** The thresholds crossed when the call count moves from `before` to `after` (several at once when a turn made many calls). */
export function thresholdsCrossed(
  schedule: readonly ConvergenceThreshold[],
  before: number,
  after: number,
): ConvergenceThreshold[] {
  return schedule.filter((t) => before < t.calls && t.calls <= after);
}
