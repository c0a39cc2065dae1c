import { describe, expect, it } from 'vitest';
import { parseMeminfo, readMachineMetrics, type MetricsSources } from './metrics.js';

// Sample /proc/meminfo text in the kernel's format, with made-up values for a 16 GB machine.
const sampleMeminfo = `MemTotal:       16318424 kB
MemFree:         1203344 kB
MemAvailable:    9633944 kB
Buffers:          412040 kB
Cached:          7891228 kB
SwapCached:            0 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`;

const gib = 1024 * 1024 * 1024;

function sources(overrides: Partial<MetricsSources> = {}): Partial<MetricsSources> {
  return {
    readText: async () => sampleMeminfo,
    loadavg: () => [3, 2, 1],
    cores: () => 4,
    totalmem: () => 8 * gib,
    freemem: () => 6 * gib,
    ...overrides,
  };
}

describe('parseMeminfo', () => {
  it('reads MemTotal and MemAvailable', () => {
    expect(parseMeminfo(sampleMeminfo)).toEqual({ totalKib: 16318424, availableKib: 9633944 });
  });

  it('returns undefined without MemAvailable', () => {
    const oldKernel = sampleMeminfo.replace(/^MemAvailable:.*\n/m, '');
    expect(parseMeminfo(oldKernel)).toBeUndefined();
  });

  it('returns undefined for unrelated text', () => {
    expect(parseMeminfo('')).toBeUndefined();
    expect(parseMeminfo('MemTotal: lots\nMemAvailable: some\n')).toBeUndefined();
  });
});

describe('readMachineMetrics', () => {
  it('divides the 1-minute load by the cores', async () => {
    const metrics = await readMachineMetrics(sources());
    expect(metrics.cpu_load).toBe(0.75);
  });

  it('rounds cpu_load to three decimals', async () => {
    const metrics = await readMachineMetrics(sources({ loadavg: () => [1, 0, 0], cores: () => 3 }));
    expect(metrics.cpu_load).toBe(0.333);
  });

  it('treats zero cores as one', async () => {
    const metrics = await readMachineMetrics(sources({ cores: () => 0 }));
    expect(metrics.cpu_load).toBe(3);
  });

  it('uses MemTotal minus MemAvailable in MiB', async () => {
    const metrics = await readMachineMetrics(sources());
    // (16318424 - 9633944) KiB = 6684480 KiB = 6527.8125 MiB.
    expect(metrics.mem_used_mb).toBe(6527.8);
  });

  it('reads /proc/meminfo', async () => {
    const paths: string[] = [];
    const readText = async (path: string): Promise<string> => {
      paths.push(path);
      return sampleMeminfo;
    };
    await readMachineMetrics(sources({ readText }));
    expect(paths).toEqual(['/proc/meminfo']);
  });

  it('falls back to os figures without the file', async () => {
    const missing = async (): Promise<string> => {
      throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    };
    const metrics = await readMachineMetrics(sources({ readText: missing }));
    expect(metrics.mem_used_mb).toBe(2048);
  });

  it('falls back to os figures without MemAvailable', async () => {
    const oldKernel = sampleMeminfo.replace(/^MemAvailable:.*\n/m, '');
    const metrics = await readMachineMetrics(sources({ readText: async () => oldKernel }));
    expect(metrics.mem_used_mb).toBe(2048);
  });

  it('reads this machine without errors', async () => {
    const metrics = await readMachineMetrics();
    expect(metrics.cpu_load).toBeGreaterThanOrEqual(0);
    expect(metrics.mem_used_mb).toBeGreaterThan(0);
  });
});
