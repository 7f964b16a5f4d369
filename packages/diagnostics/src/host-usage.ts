import { statfs } from 'node:fs/promises';
import { availableParallelism, cpus, freemem, loadavg, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';

/** CPU time of all cores together, in ms: idle and in total (user, nice, sys, irq, idle). */
export interface CpuTimes {
  idleMs: number;
  totalMs: number;
}

/** The host's CPU times now, summed over its cores (`os.cpus()`). */
export function readCpuTimes(): CpuTimes {
  let idleMs = 0;
  let totalMs = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    idleMs += t.idle;
    totalMs += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { idleMs, totalMs };
}

/**
 * The host's CPU utilisation between two readings: the share (0–1) of all cores' time that was not idle. `sample()`
 * answers for the time since the previous call (the first call, since the meter was made), or undefined when no CPU
 * time has passed in between (two calls within the same clock tick).
 */
export class HostCpuMeter {
  private last: CpuTimes;

  constructor(private readonly read: () => CpuTimes = readCpuTimes) {
    this.last = read();
  }

  sample(): number | undefined {
    const now = this.read();
    const total = now.totalMs - this.last.totalMs;
    const idle = now.idleMs - this.last.idleMs;
    this.last = now;
    if (total <= 0) return undefined;
    return clamp01(1 - idle / total);
  }
}

export interface ProcessCpuMeterOptions {
  /** CPU time this process used, in µs (default `process.cpuUsage`). */
  cpuUsage?: () => { user: number; system: number };
  /** A monotonic clock in ms (default `performance.now`). */
  now?: () => number;
  /** Cores the process may use (default `os.availableParallelism()`). */
  cores?: number;
}

/**
 * This process's CPU use between two readings, as a share (0–1) of all the cores it may use: the gateway process,
 * which hosts the embedded engine (llama.cpp runs in-process), so its inference shows here.
 */
export class ProcessCpuMeter {
  private readonly cpuUsage: () => { user: number; system: number };
  private readonly now: () => number;
  private readonly cores: number;
  private lastCpuMicros: number;
  private lastAt: number;

  constructor(options: ProcessCpuMeterOptions = {}) {
    this.cpuUsage = options.cpuUsage ?? (() => process.cpuUsage());
    this.now = options.now ?? (() => performance.now());
    this.cores = Math.max(1, options.cores ?? availableParallelism());
    this.lastCpuMicros = this.cpuMicros();
    this.lastAt = this.now();
  }

  /** The share since the previous call (the first, since the meter was made); undefined when no time passed. */
  sample(): number | undefined {
    const cpu = this.cpuMicros();
    const at = this.now();
    const wallMs = at - this.lastAt;
    const usedMs = (cpu - this.lastCpuMicros) / 1000;
    this.lastCpuMicros = cpu;
    this.lastAt = at;
    if (wallMs <= 0) return undefined;
    return clamp01(usedMs / (wallMs * this.cores));
  }

  private cpuMicros(): number {
    const usage = this.cpuUsage();
    return usage.user + usage.system;
  }
}

export interface HostMemory {
  totalBytes: number;
  freeBytes: number;
  usedBytes: number;
}

/** The host's RAM (`os.totalmem()` / `os.freemem()`). */
export function readHostMemory(): HostMemory {
  const totalBytes = totalmem();
  const freeBytes = freemem();
  return { totalBytes, freeBytes, usedBytes: Math.max(0, totalBytes - freeBytes) };
}

/** The 1, 5 and 15 minute load averages (0 on Windows, which has none). */
export function readLoadAverage(): { m1: number; m5: number; m15: number } {
  const [m1 = 0, m5 = 0, m15 = 0] = loadavg();
  return { m1, m5, m15 };
}

export interface DiskUsage {
  /** The folder measured: the path given, or its nearest existing parent when it does not exist yet. */
  path: string;
  totalBytes: number;
  /** Free to an unprivileged user (what the gateway can still write). */
  availableBytes: number;
  usedBytes: number;
}

/**
 * The file system holding `path` (`fs.statfs`): its size, what is still available and what is used. A folder not
 * created yet (the gateway's data folder before its first key) is measured at its nearest existing parent.
 */
export async function readDiskUsage(path: string): Promise<DiskUsage> {
  let current = resolve(path);
  for (;;) {
    try {
      const stats = await statfs(current);
      const totalBytes = stats.blocks * stats.bsize;
      const freeBytes = stats.bfree * stats.bsize;
      return {
        path: current,
        totalBytes,
        availableBytes: stats.bavail * stats.bsize,
        usedBytes: Math.max(0, totalBytes - freeBytes),
      };
    } catch (error) {
      const parent = dirname(current);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) throw error;
      current = parent;
    }
  }
}

const clamp01 = (n: number) => Math.min(1, Math.max(0, n));
