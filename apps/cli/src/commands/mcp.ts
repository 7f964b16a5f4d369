import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { unconfinedWarning } from '@unity/core';
import { createToolExecutor, parseToolsConfig, serveMcpOverStdio, ToolError, type ToolsConfig } from '@unity/tools';
import type { Command } from 'commander';
import { reportCliError } from '../cli-error';
import { version } from '../version';

interface McpFlags {
  root: string;
  config?: string;
}

async function loadToolsConfig(file: string | undefined): Promise<ToolsConfig> {
  if (!file) return {};
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ToolError({
      code: 'INVALID_CONFIG',
      message: `cannot read the tools configuration ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      fix: 'pass an existing JSON file to --config, or leave --config out',
      cause: error,
    });
  }
  return parseToolsConfig(text, file);
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
      'tools configuration, JSON: commandPolicy, webSearch, memoryFile, sandbox, network, envPassthrough, readablePaths, callTimeoutMs, maxResultChars',
    )
    .action(async (flags: McpFlags) => {
      const config = await loadToolsConfig(flags.config);
      const env = process.env;
      const executor = createToolExecutor({
        root: resolve(flags.root),
        commandPolicy: config.commandPolicy,
        webSearch: {
          ...config.webSearch,
          searxngUrl: config.webSearch?.searxngUrl ?? (env.SEARXNG_URL || undefined),
          braveApiKey: env.BRAVE_API_KEY || undefined,
        },
        memoryFile: config.memoryFile,
        callTimeoutMs: config.callTimeoutMs,
        maxResultChars: config.maxResultChars,
        command: {
          env,
          ...(config.sandbox ? { sandbox: config.sandbox } : {}),
          ...(config.network !== undefined ? { network: config.network } : {}),
          ...(config.envPassthrough ? { envPassthrough: config.envPassthrough } : {}),
          ...(config.readablePaths ? { readablePaths: config.readablePaths } : {}),
        },
      });
      if (config.sandbox === 'none') process.stderr.write(`unity mcp: ${unconfinedWarning}\n`);
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
