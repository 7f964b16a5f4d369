import { builtinDomains } from './builtin-domains';
import { DomainError } from './domain-error';
import type { DomainPreset } from './domain-preset';

/** A preset and where it came from: `built-in`, or the file (and line) that defined or last overrode it. */
export interface LoadedDomain {
  preset: DomainPreset;
  source: string;
}

/** The presets in effect, in order: built-ins first (overrides keep their place), then user-defined ones. */
export class DomainCatalog {
  readonly domains: readonly LoadedDomain[];

  constructor(domains: readonly LoadedDomain[] = builtinDomains.map((preset) => ({ preset, source: 'built-in' }))) {
    this.domains = domains;
  }

  get presets(): DomainPreset[] {
    return this.domains.map((d) => d.preset);
  }

  get names(): string[] {
    return this.domains.map((d) => d.preset.name);
  }

  get(name: string): LoadedDomain | undefined {
    return this.domains.find((d) => d.preset.name === name);
  }

  /** The named preset, or a `DOMAIN_NOT_FOUND` error listing the known names. */
  require(name: string): LoadedDomain {
    const found = this.get(name);
    if (found) return found;
    throw new DomainError({
      code: 'DOMAIN_NOT_FOUND',
      message: `no domain named "${name}" (known: ${this.names.join(', ')})`,
      fix: 'run `unity domains list`, or define it under `domains:` in the config or in a file in the domains folder',
    });
  }
}
