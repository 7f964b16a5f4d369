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
import {
  type AlertNotification,
  type AlertsPoll,
  GatewayAlertsClient,
  gatewayApiKeyOf,
  gatewayUrlOf,
  serverConfigSchema,
} from '@unity/gateway';
import { ConfigError, loadConfig } from '@unity/llm-router';
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
  /** `--gateway [url]`: true when given without a URL (the config's server.host and server.port). */
  gateway?: string | boolean;
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

/** The gateway `--gateway` names (else the config's `server:` address) and its master key from the environment. */
async function gatewayTarget(flags: DoctorFlags): Promise<{ url: string; apiKey: string | undefined }> {
  let server = serverConfigSchema.parse({});
  try {
    const { config } = await loadConfig({
      ...(flags.config === undefined ? {} : { path: flags.config }),
      cwd: process.cwd(),
      env: process.env,
      sections: { server: serverConfigSchema },
    });
    server = config.server;
  } catch (error) {
    // A broken config is the config check's to report; the gateway is then looked for at the defaults.
    if (!ConfigError.isInstance(error)) throw error;
  }
  const url = typeof flags.gateway === 'string' ? flags.gateway : gatewayUrlOf(server);
  return { url, apiKey: gatewayApiKeyOf(server, process.env) };
}

const transitionLabels: Record<AlertNotification['transition'], string> = {
  fired: pc.red('FIRED   '),
  repeat: pc.yellow('FIRING  '),
  resolved: pc.green('RESOLVED'),
};

/** One notification as a line: time, what happened, the rule and its summary. */
function formatAlertLine(n: AlertNotification): string {
  const time = new Date(n.at).toLocaleTimeString();
  return `${pc.dim(time)} ${transitionLabels[n.transition]} ${n.rule}: ${n.summary}`;
}

/** The gateway's alerts under the checks: the notifications since the last look, then what is active now. */
function formatAlerts(url: string, poll: AlertsPoll, lines: readonly string[]): string {
  if (!poll.ok) {
    return `${pc.bold('alerts')} · ${url}\n${symbols.fail} ${poll.message}\n  ${pc.cyan(`fix: ${poll.fix}`)}\n`;
  }
  const { active, rules } = poll.listing;
  const state = rules.length === 0 ? 'no rules configured (alerts: in its config)' : `${active.length} active`;
  const out = [`${pc.bold('alerts')} · ${url} · ${state}`, ...lines];
  for (const alert of active) {
    const since = pc.dim(`(since ${new Date(alert.startedAt).toLocaleTimeString()})`);
    out.push(`${symbols.fail} ${alert.rule}: ${alert.summary} ${since}`);
  }
  return `${out.join('\n')}\n`;
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
    .option(
      '--gateway [url]',
      "also show a running gateway's alerts, as they fire and resolve with --watch (default: the config's server address)",
    )
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
      const target = flags.gateway === undefined ? undefined : await gatewayTarget(flags);
      const alerts = target ? new GatewayAlertsClient(target) : undefined;
      const stopped = new AbortController();
      // The last notifications, shown under each round (a terminal is cleared between rounds).
      const alertLines: string[] = [];
      const look = async (): Promise<AlertsPoll | undefined> => {
        if (stopped.signal.aborted) return undefined;
        const poll = await alerts?.poll(stopped.signal);
        if (poll?.ok) {
          const fresh = poll.news.map(formatAlertLine);
          if (flags.watch && process.stdout.isTTY) alertLines.push(...fresh);
          else alertLines.splice(0, alertLines.length, ...fresh);
          alertLines.splice(0, Math.max(0, alertLines.length - 10));
        }
        return poll;
      };
      const print = (results: CheckResult[], poll: AlertsPoll | undefined) => {
        if (flags.json) {
          const gateway =
            poll && target
              ? poll.ok
                ? { url: target.url, active: poll.listing.active, events: poll.news }
                : { url: target.url, error: poll.message, fix: poll.fix }
              : undefined;
          const report = { status: overallStatus(results), results, ...(gateway ? { alerts: gateway } : {}) };
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
          if (poll && target) process.stdout.write(`\n${formatAlerts(target.url, poll, alertLines)}`);
        }
      };

      if (!flags.watch) {
        try {
          const results = await runChecks(checks);
          print(results, await look());
          process.exitCode = exitCodeOf(results);
        } finally {
          await plan.close();
        }
        return;
      }

      const monitor = new HealthMonitor({ checks, intervalMs: flags.interval * 1000 });
      let last: CheckResult[] = [];
      // Rounds are printed one after the other, each with the gateway's alerts as they are after it.
      let printing = Promise.resolve();
      monitor.on('results', (results) => {
        last = results;
        printing = printing.then(async () => {
          const poll = await look();
          if (!stopped.signal.aborted) print(results, poll);
        });
      });
      await new Promise<void>((resolve, reject) => {
        monitor.on('error', reject);
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
        monitor.start();
      }).finally(async () => {
        monitor.stop();
        stopped.abort();
        await printing;
        await plan.close();
      });
      process.exitCode = exitCodeOf(last);
    });
}
