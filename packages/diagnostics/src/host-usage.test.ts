import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CpuTimes,
  HostCpuMeter,
  ProcessCpuMeter,
  readCpuTimes,
  readDiskUsage,
  readHostMemory,
  readLoadAverage,
} from './host-usage';

describe('HostCpuMeter', () => {
  it('reports the busy share of all cores since the previous sample', () => {
    const readings: CpuTimes[] = [
      { idleMs: 1_000, totalMs: 2_000 },
      { idleMs: 1_300, totalMs: 3_000 },
      { idleMs: 2_300, totalMs: 4_000 },
    ];
    const meter = new HostCpuMeter(() => readings.shift() ?? { idleMs: 2_300, totalMs: 4_000 });
    expect(meter.sample()).toBeCloseTo(0.7);
    expect(meter.sample()).toBe(0);
    // No CPU time passed since the last reading: no figure rather than a division by zero.
    expect(meter.sample()).toBeUndefined();
  });

  it('reads the real CPU times of this host', () => {
    const times = readCpuTimes();
    expect(times.totalMs).toBeGreaterThan(0);
    expect(times.idleMs).toBeLessThanOrEqual(times.totalMs);
  });
});

describe('ProcessCpuMeter', () => {
  it('reports CPU time used as a share of the wall time of all the cores', () => {
    let micros = 0;
    let ms = 0;
    const meter = new ProcessCpuMeter({ cpuUsage: () => ({ user: micros, system: 0 }), now: () => ms, cores: 2 });
    micros = 500_000;
    ms = 1_000;
    expect(meter.sample()).toBeCloseTo(0.25);
    micros += 2_000_000;
    ms += 1_000;
    expect(meter.sample()).toBe(1);
    expect(meter.sample()).toBeUndefined();
  });

  it('sees this process spend CPU time in a busy loop', () => {
    const meter = new ProcessCpuMeter();
    const until = performance.now() + 50;
    let spin = 0;
    while (performance.now() < until) spin++;
    expect(spin).toBeGreaterThan(0);
    expect(meter.sample()).toBeGreaterThan(0);
  });
});

describe('host memory, load and disk', () => {
  it('reads total, free and used RAM', () => {
    const memory = readHostMemory();
    expect(memory.totalBytes).toBeGreaterThan(0);
    expect(memory.usedBytes + memory.freeBytes).toBe(memory.totalBytes);
  });

  it('reads the load averages', () => {
    const load = readLoadAverage();
    expect(load.m1).toBeGreaterThanOrEqual(0);
    expect(load.m15).toBeGreaterThanOrEqual(0);
  });

  it('measures the file system of a folder, and of its nearest parent when it does not exist yet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'unity-disk-'));
    try {
      const here = await readDiskUsage(dir);
      expect(here.path).toBe(dir);
      expect(here.totalBytes).toBeGreaterThan(0);
      expect(here.availableBytes).toBeLessThanOrEqual(here.totalBytes);
      const later = await readDiskUsage(join(dir, 'data', 'not-yet'));
      expect(later.path).toBe(dir);
      expect(later.totalBytes).toBe(here.totalBytes);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
