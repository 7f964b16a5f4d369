import { resolve } from 'node:path';
import { UnityError } from '@unity/core';
import { loadConfig } from '@unity/llm-router';
import {
  createToolExecutor,
  serveMcpOverStdio,
  toolExecutorSettings,
  toolsConfigSection,
  toolsEnvBindings,
} from '@unity/tools';
import type { Command } from 'commander';
import { reportCliError } from '../cli-error';
import { warnIfUnconfined } from '../sandbox-settings';
import { version } from '../version';

interface McpFlags {
  root: string;
  config?: string;
}

/** The keys of the old JSON tools file, which now live in the config's `tools:` section (snake_case). */
const oldJsonKeys = ['commandPolicy', 'webSearch', 'memoryFile', 'callTimeoutMs', 'maxResultChars'];

/** The config's `tools:` section; an old JSON tools file is refused with the way to move it. */
async function loadTools(path: string | undefined) {
  const { config, source } = await loadConfig({
    ...(path === undefined ? {} : { path }),
    cwd: process.cwd(),
    env: process.env,
    sections: { tools: toolsConfigSection },
    envBindings: toolsEnvBindings,
  });
  const old = oldJsonKeys.filter((key) => key in config);
  if (old.length > 0) {
    throw new UnityError({
      code: 'CONFIG_INVALID',
      message: `${source}: ${old.join(', ')} ${old.length > 1 ? 'are' : 'is'} the old JSON tools configuration`,
      fix: 'move the settings under tools: in the YAML config, in snake_case (commandPolicy → tools.command_policy, webSearch.searxngUrl → tools.web_search.searxng_url, memoryFile → tools.memory_file, callTimeoutMs → tools.call_timeout_ms, maxResultChars → tools.max_result_chars)',
    });
  }
  return config.tools;
}

/**
 * `unity mcp`: the tools as a Model Context Protocol server on stdio. Stdout carries nothing but the protocol;
 * secrets for web search come from the environment (BRAVE_API_KEY), never from the config file.
 */
export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description('serve the sandboxed tools (files, search, commands, web search, memory) over MCP on stdio')
    .option('--root <dir>', 'workspace folder the tools are confined to', process.cwd())
    .option(
      '--config <file>',
      'config file whose tools: section applies (default: $UNITY_CONFIG, else ./configs/system.yaml, else defaults)',
    )
    .action(async (flags: McpFlags) => {
      const tools = toolExecutorSettings(await loadTools(flags.config));
      const executor = createToolExecutor({
        ...tools,
        root: resolve(flags.root),
        command: { ...tools.command, env: process.env },
      });
      warnIfUnconfined(tools.command);
      // A message over the size limit ends the session: say why on stderr and exit non-zero, not 0 in silence.
      await serveMcpOverStdio(executor, {
        name: 'unity',
        version,
        onFatal: (error) => {
          process.exitCode = reportCliError(error);
          process.stdin.destroy();
        },
      });
    });
}
