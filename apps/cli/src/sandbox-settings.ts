import { unconfinedWarning } from '@unity/core';
import { loadConfig } from '@unity/llm-router';
import { type SandboxSettings, sandboxSettings, type ToolsConfigSection, toolsConfigSection } from '@unity/tools';

/** With `sandbox: none`, the warning goes to stderr at every start of a command that runs commands. */
export function warnIfUnconfined(settings: SandboxSettings): SandboxSettings {
  if (settings.sandbox === 'none') process.stderr.write(`unity: ${unconfinedWarning}\n`);
  return settings;
}

/** The `tools:` section's confinement settings, with the warning when they are `none`. */
export function sandboxFromConfig(section: ToolsConfigSection): SandboxSettings {
  return warnIfUnconfined(sandboxSettings(section));
}

/** Load the config (`--config`, else `UNITY_CONFIG`, else ./configs/system.yaml) for its `tools:` section alone. */
export async function loadSandboxSettings(configPath: string | undefined): Promise<SandboxSettings> {
  const { config } = await loadConfig({
    ...(configPath === undefined ? {} : { path: configPath }),
    cwd: process.cwd(),
    env: process.env,
    sections: { tools: toolsConfigSection },
  });
  return sandboxFromConfig(config.tools);
}
