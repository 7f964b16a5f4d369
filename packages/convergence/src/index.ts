export {
  type ConvergenceThreshold,
  convergenceSchedule,
  defaultConvergenceWarnings,
  type ReminderLevel,
  reminderLevels,
  thresholdsCrossed,
} from './convergence-warnings';
