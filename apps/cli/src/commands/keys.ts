import {
  type CreateKeyInput,
  gatewayDataDir,
  openRedisVirtualKeys,
  openVirtualKeys,
  parseDuration,
  serverConfigSchema,
  type VirtualKeys,
} from '@unity/gateway';
import { loadConfig } from '@unity/llm-router';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { positiveInteger, positiveNumber } from '../cli-process';
import { formatTable } from '../terminal-io';

interface CommonFlags {
  config?: string;
  dataDir?: string;
  json?: boolean;
}

/**
 * The keys in Redis with `server.redis_url` (those every replica shares), else in the gateway's data folder:
 * `--data-dir`, else `server.data_dir` of the config, else ~/.unity/gateway.
 */
async function open(flags: CommonFlags): Promise<VirtualKeys> {
  const { config } = await loadConfig({
    ...(flags.config === undefined ? {} : { path: flags.config }),
    cwd: process.cwd(),
    env: process.env,
    sections: { server: serverConfigSchema },
  });
  // With server.redis_url, the keys every replica of the gateway shares (unless --data-dir names a folder).
  const { redis_url: url, redis_key_prefix: keyPrefix, redis_timeout_ms: timeoutMs, prices } = config.server;
  if (url !== undefined && flags.dataDir === undefined)
    return openRedisVirtualKeys({ url, keyPrefix, timeoutMs, prices });
  return openVirtualKeys({
    dataDir: gatewayDataDir(flags.dataDir ?? config.server.data_dir, process.cwd()),
    prices: config.server.prices,
  });
}

async function withKeys<T>(flags: CommonFlags, use: (keys: VirtualKeys) => Promise<T>): Promise<T> {
  const keys = await open(flags);
  try {
    return await use(keys);
  } finally {
    await keys.close();
  }
}

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const money = (usd: number | null) => (usd === null ? '-' : `$${usd.toFixed(usd < 1 ? 4 : 2)}`);

function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(`expected a duration such as 30d, 12h, 90m, got "${value}"`);
  return ms;
}

function common(command: Command): Command {
  return command
    .option(
      '--config <file>',
      'config file whose server.data_dir holds the keys (default: $UNITY_CONFIG, ./configs/system.yaml)',
    )
    .option('--data-dir <dir>', 'the gateway data folder (default: server.data_dir, else ~/.unity/gateway)')
    .option('--json', 'print JSON');
}

/** `unity keys create|list|revoke|rotate|spend`: the gateway's virtual keys, in its data folder. */
export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description("manage the gateway's virtual keys (each with its models, rpm, tpm, budget, expiry) and their spend");

  common(keys.command('create'))
    .description('issue a key; the key is printed once and stored only as its sha256')
    .requiredOption('--name <name>', 'who or what the key is for')
    .option('--budget-usd <usd>', 'spend cap in US dollars per budget period', positiveNumber)
    .addOption(
      new Option('--budget-period <period>', 'when the budget starts again').choices(['day', 'week', 'month', 'total']),
    )
    .option('--rpm <n>', 'requests per minute', positiveInteger)
    .option('--tpm <n>', 'tokens (input + output) per minute', positiveInteger)
    .option('--models <names>', 'comma-separated model names the key may use (default: any)')
    .option('--expires <duration>', 'expire after this long: 30d, 12h, 90m', duration)
    .action(
      async (
        flags: CommonFlags & {
          name: string;
          budgetUsd?: number;
          budgetPeriod?: CreateKeyInput['budgetPeriod'];
          rpm?: number;
          tpm?: number;
          models?: string;
          expires?: number;
        },
      ) => {
        const models = flags.models
          ?.split(',')
          .map((m) => m.trim())
          .filter(Boolean);
        const created = await withKeys(flags, (vk) =>
          vk.create({
            name: flags.name,
            ...(flags.budgetUsd !== undefined ? { budgetUsd: flags.budgetUsd } : {}),
            ...(flags.budgetPeriod !== undefined ? { budgetPeriod: flags.budgetPeriod } : {}),
            ...(flags.rpm !== undefined ? { rpm: flags.rpm } : {}),
            ...(flags.tpm !== undefined ? { tpm: flags.tpm } : {}),
            ...(models && models.length > 0 ? { models } : {}),
            ...(flags.expires !== undefined ? { expiresInMs: flags.expires } : {}),
          }),
        );
        if (flags.json) return print(JSON.stringify({ key: created.key, ...created.record }, null, 2));
        print(created.key);
        process.stderr.write(
          `created ${created.record.id} "${created.record.name}": the key above is shown once; keep it now\n`,
        );
      },
    );

  common(keys.command('list'))
    .description('every key with its limits, status and spend in the current period')
    .action(async (flags: CommonFlags) => {
      const listed = await withKeys(flags, (vk) => vk.list());
      if (flags.json) return print(JSON.stringify(listed, null, 2));
      if (listed.length === 0) return print('no keys yet: unity keys create --name NAME');
      const rows = listed.map((k) => [
        k.id,
        k.name,
        k.prefix,
        k.status,
        k.models?.join(',') ?? 'any',
        k.rpm === null ? '-' : String(k.rpm),
        k.tpm === null ? '-' : String(k.tpm),
        k.budget_usd === null ? '-' : `${money(k.spent_usd)} of ${money(k.budget_usd)}/${k.budget_period}`,
        k.expires_at ?? '-',
      ]);
      print(formatTable([['ID', 'NAME', 'KEY', 'STATUS', 'MODELS', 'RPM', 'TPM', 'SPENT', 'EXPIRES'], ...rows]));
    });

  common(keys.command('revoke'))
    .description('revoke a key: refused from the next request on')
    .argument('<id>', 'the key id (key_…), from unity keys list')
    .action(async (id: string, flags: CommonFlags) => {
      const revoked = await withKeys(flags, (vk) => vk.revoke(id));
      if (flags.json) return print(JSON.stringify(revoked, null, 2));
      print(`revoked ${revoked.id} "${revoked.name}"`);
    });

  common(keys.command('rotate'))
    .description(
      'replace a key with a new one (same limits and spend); the old one is refused from the next request on',
    )
    .argument('<id>', 'the key id (key_…), from unity keys list')
    .action(async (id: string, flags: CommonFlags) => {
      const rotated = await withKeys(flags, (vk) => vk.rotate(id));
      if (flags.json) return print(JSON.stringify({ key: rotated.key, ...rotated.record }, null, 2));
      print(rotated.key);
      process.stderr.write(`rotated ${rotated.record.id}: the key above is shown once; the old one no longer works\n`);
    });

  common(keys.command('spend'))
    .description('tokens and cost per key, per model and per day')
    .option('--key <id>', 'one key only')
    .option('--from <day>', 'first UTC day, YYYY-MM-DD')
    .option('--to <day>', 'last UTC day, YYYY-MM-DD')
    .action(async (flags: CommonFlags & { key?: string; from?: string; to?: string }) => {
      const report = await withKeys(flags, (vk) =>
        vk.spend({
          ...(flags.key ? { keyId: flags.key } : {}),
          ...(flags.from ? { fromDay: flags.from } : {}),
          ...(flags.to ? { toDay: flags.to } : {}),
        }),
      );
      if (flags.json) return print(JSON.stringify(report, null, 2));
      const rows = report.rows.map((r) => [
        r.day,
        r.key_id,
        report.by_key[r.key_id]?.name ?? '?',
        r.model,
        String(r.requests),
        String(r.input_tokens),
        String(r.output_tokens),
        money(r.cost_usd),
      ]);
      print(formatTable([['DAY', 'KEY', 'NAME', 'MODEL', 'REQUESTS', 'INPUT', 'OUTPUT', 'COST'], ...rows]));
      print(`total: ${report.total.requests} requests, ${money(report.total.cost_usd)}`);
    });
}
