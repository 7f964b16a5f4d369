export { type Check, type CheckResult, type CheckStatus, nodeVersionCheck, overallStatus, runChecks } from './check';
