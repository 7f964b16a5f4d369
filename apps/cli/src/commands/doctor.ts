import {
  type Check,
  type CheckResult,
  type CheckStatus,
  HealthMonitor,
  overallStatus,
  planDoctor,
  runChecks,
} from '@unity/diagnostics';
import { DomainError } from '@unity/domains';
import type { Command } from 'commander';
import pc from 'picocolors';
import { positiveNumber } from '../cli-process';
import { loadCatalog } from './domains';

interface DoctorFlags {
  config?: string;
  domainsDir?: string;
  json?: boolean;
  watch?: boolean;
  deep?: boolean;
  interval: number;
}

const symbols: Record<CheckStatus, string> = {
  ok: pc.green('✓'),
  warn: pc.yellow('!'),
  fail: pc.red('✗'),
  skip: pc.dim('-'),
};

/** The checks as a table: symbol, title, message, and the fix on the line below. */
export function formatResults(results: readonly CheckResult[]): string {
  const titles = results.map((r) => (r.status === 'fail' && !r.required ? `${r.title} (optional)` : r.title));
  const width = Math.max(...titles.map((t) => t.length)) + 2;
  const lines: string[] = [];
  // Continuation lines of a multi-line message or fix stay in the message column.
  const column = (text: string) => text.replace(/\n/g, `\n  ${' '.repeat(width)}`);
  results.forEach((r, i) => {
    const message = column(r.status === 'skip' ? pc.dim(r.message) : r.message);
    lines.push(`${symbols[r.status]} ${(titles[i] ?? '').padEnd(width)}${message}`);
    if (r.fix && r.status !== 'ok') lines.push(`  ${' '.repeat(width)}${pc.cyan(column(`fix: ${r.fix}`))}`);
  });
  const count = (status: CheckStatus) => results.filter((r) => r.status === status).length;
  const overall = overallStatus(results);
  const verdict = {
    ok: pc.green('all good'),
    warn: pc.yellow('usable, with warnings'),
    fail: pc.red('a required check failed'),
  }[overall];
  const tally = `${count('ok')} ok, ${count('warn')} warning(s), ${count('fail')} failed, ${count('skip')} skipped`;
  return `${lines.join('\n')}\n\n${tally}: ${verdict}\n`;
}

/** The domain presets (config `domains:` and the domains folder) load: their errors name file, line and field. */
function domainsCheck(flags: DoctorFlags): Check {
  return {
    id: 'domains',
    title: 'Domain presets valid',
    required: true,
    dependsOn: ['config'],
    async run() {
      try {
        const catalog = await loadCatalog(flags);
        const own = catalog.domains.filter((d) => d.source !== 'built-in').length;
        return { status: 'ok', message: `${catalog.domains.length} presets (${own} from your files)` };
      } catch (error) {
        if (!DomainError.isInstance(error)) throw error;
        return { status: 'fail', message: error.message, ...(error.fix ? { fix: error.fix } : {}) };
      }
    },
  };
}

const exitCodeOf = (results: readonly CheckResult[]) => (overallStatus(results) === 'fail' ? 1 : 0);

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check the setup: Ollama, models, cloud key and endpoint, memory, config; each problem with its fix')
    .option('--config <file>', 'config file (default: $UNITY_CONFIG, else ./configs/system.yaml, else built-in)')
    .option('--domains-dir <dir>', 'folder of domain files (default: domains/ beside the config)')
    .option('--json', 'print the results as JSON (one line per round with --watch)')
    .option('--deep', 'also measure first-token latency and try one tool call per configured model (costs model calls)')
    .option('--watch', 're-run the checks until Ctrl-C')
    .option('--interval <seconds>', 'pause between rounds with --watch', positiveNumber, 5)
    .addHelpText('after', '\nExit status: 0 when every required check passes (warnings allowed), 1 otherwise.')
    .action(async (flags: DoctorFlags) => {
      const plan = await planDoctor({
        ...(flags.config === undefined ? {} : { configPath: flags.config }),
        cwd: process.cwd(),
        env: process.env,
        deep: flags.deep ?? false,
      });
      const [config, ...rest] = plan.checks;
      const checks = config ? [config, domainsCheck(flags), ...rest] : rest;
      const print = (results: CheckResult[]) => {
        if (flags.json) {
          const report = { status: overallStatus(results), results };
          process.stdout.write(flags.watch ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
        } else {
          if (flags.watch && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
          if (flags.watch) {
            process.stdout.write(
              pc.dim(
                `unity doctor · ${new Date().toLocaleTimeString()} · every ${flags.interval} s, Ctrl-C to stop\n\n`,
              ),
            );
          }
          process.stdout.write(formatResults(results));
        }
      };

      if (!flags.watch) {
        try {
          const results = await runChecks(checks);
          print(results);
          process.exitCode = exitCodeOf(results);
        } finally {
          await plan.close();
        }
        return;
      }

      const monitor = new HealthMonitor({ checks, intervalMs: flags.interval * 1000 });
      let last: CheckResult[] = [];
      monitor.on('results', (results) => {
        last = results;
        print(results);
      });
      await new Promise<void>((resolve, reject) => {
        monitor.on('error', reject);
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
        monitor.start();
      }).finally(async () => {
        monitor.stop();
        await plan.close();
      });
      process.exitCode = exitCodeOf(last);
    });
}
