import { formatError } from '@unity/core';
import { type ReportSettings, type RunKind, RunReporter, type RunReportResult } from '@unity/gateway/run-report';
import type { Command } from 'commander';

/** `--report <url>` and `--no-report`, as commander parses them (false: `--no-report`). */
export interface ReportFlags {
  report?: string | false;
}

/** Adds the run-report flags, worded the same on `unity run` and `unity evolve`. */
export function addReportOptions(command: Command): Command {
  return command
    .option(
      '--report <url>',
      "report the run live to a gateway's dashboard: the address `unity serve` prints (default: report.url)",
    )
    .option('--no-report', 'do not report the run, even when report.url (or UNITY_REPORT_URL) is set');
}

/**
 * The reporter `--report` (else `report.url`) asks for, keyed by the variable `report.api_key_env` names; undefined
 * when neither names a gateway, or `--no-report`. Its one warning goes to stderr; the run goes on either way.
 */
export function reporterFor<K extends RunKind>(
  kind: K,
  title: string,
  flags: ReportFlags,
  settings: ReportSettings,
  env: Record<string, string | undefined>,
): RunReporter<K> | undefined {
  const url = flags.report === false ? undefined : (flags.report ?? settings.url);
  if (url === undefined) return undefined;
  const apiKey = env[settings.api_key_env];
  return new RunReporter({
    url,
    kind,
    title,
    ...(apiKey ? { apiKey } : {}),
    onEvent: (event) => {
      process.stderr.write(`unity: warning: ${event.message}${event.fix ? `\nFix: ${event.fix}` : ''}\n`);
    },
  });
}

/** Send what is left of the report (bounded), and say where the run is when anything was dropped. Never throws. */
export async function closeReporter(reporter: RunReporter | undefined): Promise<RunReportResult | undefined> {
  if (!reporter) return undefined;
  try {
    const result = await reporter.close();
    if (result.dropped > 0 && result.sent > 0) {
      process.stderr.write(`unity: ${result.dropped} run events were not reported to ${result.runUrl}\n`);
    }
    return result;
  } catch (error) {
    process.stderr.write(`unity: warning: the run report did not close: ${formatError(error)}\n`);
    return undefined;
  }
}
