import type { BudgetPeriod } from './store';

const dayMs = 86_400_000;

/** The UTC day of an instant: `2026-12-07`. */
export const utcDay = (now: number) => new Date(now).toISOString().slice(0, 10);

/** Monday 00:00 UTC of the instant's ISO week. */
function weekStart(now: number): number {
  const midnight = Math.floor(now / dayMs) * dayMs;
  const weekday = (new Date(midnight).getUTCDay() + 6) % 7;
  return midnight - weekday * dayMs;
}

/** The budget period an instant falls in: `2026-12-07`, `2026-W49` (named by its Monday's date), `2026-12`, `total`. */
export function periodOf(period: BudgetPeriod, now: number): string {
  switch (period) {
    case 'day':
      return utcDay(now);
    case 'week':
      return `week-${utcDay(weekStart(now))}`;
    case 'month':
      return utcDay(now).slice(0, 7);
    case 'total':
      return 'total';
  }
}

/** When the period of `now` ends (the budget starts again), or undefined for `total`. */
export function periodEnd(period: BudgetPeriod, now: number): number | undefined {
  switch (period) {
    case 'day':
      return Math.floor(now / dayMs) * dayMs + dayMs;
    case 'week':
      return weekStart(now) + 7 * dayMs;
    case 'month': {
      const d = new Date(now);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
    case 'total':
      return undefined;
  }
}
