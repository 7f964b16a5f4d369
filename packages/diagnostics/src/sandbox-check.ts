import { type OsSandboxMode, probeOsSandbox } from '@unity/core';
import type { Check } from './check';

export interface SandboxCheckOptions {
  /** `tools.sandbox` of the config: `bwrap` (default) or `none`. */
  mode: OsSandboxMode;
  /** The bubblewrap program. Default `bwrap` from the PATH. */
  bwrapPath?: string;
}

/**
 * Whether commands a model runs (`execute_command`) and evolution evaluators can be confined by the OS sandbox here:
 * bubblewrap installed and able to create its namespaces. Not required for answering questions, so a failure does
 * not fail `unity doctor`; but without it those commands are refused. `none` is a warning at every run.
 */
export function sandboxCheck(options: SandboxCheckOptions): Check {
  return {
    id: 'os-sandbox',
    title: 'OS sandbox for commands',
    required: false,
    async run() {
      if (options.mode === 'none') {
        return {
          status: 'warn',
          message: 'tools.sandbox is none: commands and evaluators run unconfined, with your rights and network',
          fix: 'install bubblewrap (`apt-get install bubblewrap`) and remove `sandbox: none` from the tools: section',
        };
      }
      const probe = await probeOsSandbox(options.bwrapPath ? { bwrapPath: options.bwrapPath } : {});
      if (!probe.available) return { status: 'fail', message: probe.reason, fix: probe.fix };
      return {
        status: 'ok',
        message: `bubblewrap ${probe.version}: commands and evaluators run confined (workspace only, uid 1000, own PID/IPC/network namespaces)`,
        data: { program: probe.program, version: probe.version },
      };
    },
  };
}
