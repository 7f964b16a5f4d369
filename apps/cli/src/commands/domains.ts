import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { type DomainCatalog, type LoadedDomain, loadDomains, presetToYaml } from '@unity/domains';
import type { Command } from 'commander';
import { formatTable } from '../terminal-io';

interface DomainsFlags {
  config?: string;
  domainsDir?: string;
  json?: boolean;
}

/**
 * Where the presets come from: the config file (`--config`, else `$UNITY_CONFIG`, else `./configs/system.yaml` when
 * present) and the domains folder (`--domains-dir`, else `domains/` beside the config file, else `./configs/domains`).
 */
export function domainSources(
  flags: Pick<DomainsFlags, 'config' | 'domainsDir'>,
  env: Record<string, string | undefined>,
  cwd: string,
): { configFile?: string; dir: string } {
  const named = flags.config ?? (env.UNITY_CONFIG || undefined);
  const fallback = join(cwd, 'configs', 'system.yaml');
  const configFile = named !== undefined ? resolve(cwd, named) : existsSync(fallback) ? fallback : undefined;
  const dir = flags.domainsDir
    ? resolve(cwd, flags.domainsDir)
    : configFile
      ? join(dirname(configFile), 'domains')
      : join(cwd, 'configs', 'domains');
  return { ...(configFile ? { configFile } : {}), dir };
}

/** Load the catalog the way every command that uses domains does (`unity run --domain` included). */
export function loadCatalog(flags: Pick<DomainsFlags, 'config' | 'domainsDir'>): Promise<DomainCatalog> {
  return loadDomains(domainSources(flags, process.env, process.cwd()));
}

function toJson({ preset, source }: LoadedDomain) {
  return { ...preset, source };
}

function withSourceOptions(command: Command): Command {
  return command
    .option(
      '--config <file>',
      'config file whose `domains:` adds or overrides presets (default: ./configs/system.yaml)',
    )
    .option('--domains-dir <dir>', 'folder of domain files, one preset a file (default: domains/ beside the config)')
    .option('--json', 'print JSON');
}

export function registerDomainsCommand(program: Command): void {
  const domains = program
    .command('domains')
    .description('list and show the domain presets (model, tools, prompt, limits for a kind of task)');

  withSourceOptions(domains.command('list').description('list the presets in effect')).action(
    async (flags: DomainsFlags) => {
      const catalog = await loadCatalog(flags);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(catalog.domains.map(toJson), null, 2)}\n`);
        return;
      }
      const rows = catalog.domains.map(({ preset, source }) => [
        preset.name,
        preset.model,
        source === 'built-in' ? source : relative(process.cwd(), source),
        preset.description,
      ]);
      process.stdout.write(`${formatTable([['NAME', 'MODEL', 'SOURCE', 'DESCRIPTION'], ...rows])}\n`);
    },
  );

  withSourceOptions(
    domains.command('show').description('show one preset in full, as YAML ready for a domain file').argument('<name>'),
  ).action(async (name: string, flags: DomainsFlags) => {
    const domain = (await loadCatalog(flags)).require(name);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(toJson(domain), null, 2)}\n`);
      return;
    }
    process.stdout.write(`# ${domain.preset.name} (source: ${domain.source})\n${presetToYaml(domain.preset)}`);
  });
}
