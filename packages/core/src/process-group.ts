import { spawn } from 'node:child_process';

/**
 * Keeps the head and the tail of a stream of output within a budget, counting the whole: what a reader needs from a
 * long log is usually its start and its end. A head of 0 keeps only the tail.
 */
export class OutputCapture {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  /** Bytes seen in all. */
  total = 0;

  constructor(
    private readonly headLimit: number,
    private readonly tailLimit: number,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headBytes < this.headLimit) {
      const take = Math.min(this.headLimit - this.headBytes, rest.length);
      this.head.push(rest.subarray(0, take));
      this.headBytes += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0 || this.tailLimit === 0) return;
    this.tail.push(rest);
    this.tailBytes += rest.length;
    while (this.tailBytes - (this.tail[0]?.length ?? 0) >= this.tailLimit) {
      this.tailBytes -= (this.tail.shift() as Buffer).length;
    }
  }

  /** True when some output was dropped. */
  get truncated(): boolean {
    return this.total > this.headBytes + Math.min(this.tailBytes, this.tailLimit);
  }

  /** The kept text; when something was cut and `note` is on, a line in the middle says how much of how much. */
  text({ note = true }: { note?: boolean } = {}): string {
    const head = Buffer.concat(this.head).toString('utf8');
    if (!this.truncated) return head + Buffer.concat(this.tail).toString('utf8');
    const tailAll = Buffer.concat(this.tail);
    const tail = tailAll.subarray(tailAll.length - this.tailLimit).toString('utf8');
    if (!note) return head + tail;
    const omitted = this.total - this.headBytes - this.tailLimit;
    return `${head}\n[… ${omitted} bytes omitted; ${this.total} bytes in all, first ${this.headBytes} and last ${this.tailLimit} shown …]\n${tail}`;
  }
}

export interface ProcessGroupOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Kill the whole group after this long; named in nothing here — callers say which option set it. */
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL to the group. 0 (default) kills at once with SIGKILL. */
  killGraceMs?: number;
  /** Bytes kept from the start and from the end of the output. */
  headBytes: number;
  tailBytes: number;
  /** Mark cut output with a line saying how much was omitted (default true); off, the output is exactly head + tail. */
  truncationNote?: boolean;
  /** Capture stderr into the same stream as stdout, interleaved as it comes (default), or apart. */
  mergeStderr?: boolean;
  /** Called with what the program writes to its fd 3 (a pipe then), e.g. bubblewrap's `--json-status-fd 3`. */
  onFd3?: (chunk: Buffer) => void;
  /** Run as another user (e.g. nobody when the caller is root). */
  uid?: number;
  gid?: number;
  signal?: AbortSignal;
}

export interface ProcessGroupResult {
  exitCode: number | null;
  /** The signal that ended the process, if any. */
  exitSignal: NodeJS.Signals | null;
  /** The output (stdout and stderr together when merged), head + tail with a note where something was cut. */
  stdout: string;
  /** Empty when stderr was merged into stdout. */
  stderr: string;
  /** Bytes seen in all, on both streams. */
  totalBytes: number;
  truncated: boolean;
  timedOut: boolean;
  /** True when `signal` aborted the run. */
  aborted: boolean;
  pid: number | undefined;
}

/** How long to wait for the pipes to close after the program has exited (or was killed). */
const pipeDrainMs = 1000;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/**
 * Run argv (no shell unless argv names one) in its own process group, with output captured head + tail. At the
 * timeout, or when `signal` aborts, the whole group is killed (SIGTERM, then SIGKILL after the grace period); when the
 * program exits, whatever it left running in its group is killed too, so no process outlives the call. Rejects only
 * when the program cannot be started (e.g. ENOENT).
 */
export function runProcessGroup(argv: readonly string[], options: ProcessGroupOptions): Promise<ProcessGroupResult> {
  return new Promise((resolve, reject) => {
    const out = new OutputCapture(options.headBytes, options.tailBytes);
    const err = options.mergeStderr === false ? new OutputCapture(options.headBytes, options.tailBytes) : out;
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: options.onFd3 ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    const grace = options.killGraceMs ?? 0;
    let timedOut = false;
    let aborted = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    // A process that left its group (setsid, a double fork) can hold the pipes open after the group is dead: stop
    // waiting for them shortly after the end, so the call still returns (an OS sandbox's PID namespace kills it too).
    const stopWaitingSoon = () => {
      closeTimer ??= setTimeout(() => {
        for (const stream of child.stdio) stream?.destroy();
        finish(null, null);
      }, grace + pipeDrainMs);
    };
    const terminate = () => {
      stopWaitingSoon();
      if (grace <= 0) return killGroup(child.pid, 'SIGKILL');
      killGroup(child.pid, 'SIGTERM');
      graceTimer ??= setTimeout(() => killGroup(child.pid, 'SIGKILL'), grace);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      terminate();
    };
    const cleanUp = () => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      clearTimeout(closeTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.onFd3) (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', options.onFd3);
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      cleanUp();
      reject(error);
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Background processes the program started would keep the pipes open: end them with it.
      killGroup(child.pid, 'SIGKILL');
      stopWaitingSoon();
    });
    let finished = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (finished) return;
      finished = true;
      cleanUp();
      const note = options.truncationNote ?? true;
      resolve({
        exitCode: exit?.code ?? code,
        exitSignal: exit?.signal ?? signal,
        stdout: out.text({ note }),
        stderr: err === out ? '' : err.text({ note }),
        totalBytes: out.total + (err === out ? 0 : err.total),
        truncated: out.truncated || (err !== out && err.truncated),
        timedOut,
        aborted,
        pid: child.pid,
      });
    };
    child.on('close', finish);
  });
}
