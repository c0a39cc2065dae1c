// This machine's CPU load and memory use, as the agent reports them in heartbeats.
import { readFile } from 'node:fs/promises';
import os from 'node:os';

export interface MachineMetrics {
  /** The 1-minute load average divided by the number of cores: 1.0 is one runnable task per core. */
  cpu_load: number;
  /** Memory in use, in MiB: the total minus what new processes could get without swapping. */
  mem_used_mb: number;
}

/** The operating-system readings behind the metrics, replaceable so tests can feed fixed values. */
export interface MetricsSources {
  /** Reads a whole text file and rejects when it cannot, as fs.promises.readFile does. */
  readText: (path: string) => Promise<string>;
  loadavg: () => number[];
  cores: () => number;
  totalmem: () => number;
  freemem: () => number;
}

export const systemMetricsSources: MetricsSources = {
  readText: (path) => readFile(path, 'utf8'),
  loadavg: () => os.loadavg(),
  cores: () => os.availableParallelism(),
  totalmem: () => os.totalmem(),
  freemem: () => os.freemem(),
};

const bytesPerMiB = 1024 * 1024;

/**
 * Reads the machine's metrics. Memory comes from /proc/meminfo on Linux and from os.totalmem()
 * minus os.freemem() where that file is missing or lacks MemAvailable (Linux before 3.14).
 * On Windows, os.loadavg() always returns zeros, so cpu_load is 0 there.
 *
 * NOTE: inside a container, /proc/meminfo and the load average describe the host, not the
 * container's cgroup limits.
 */
export async function readMachineMetrics(
  sources: Partial<MetricsSources> = {},
): Promise<MachineMetrics> {
  const source = { ...systemMetricsSources, ...sources };
  const cores = Math.max(1, source.cores());
  const cpuLoad = (source.loadavg()[0] ?? 0) / cores;

  const meminfo = await source.readText('/proc/meminfo').catch(() => undefined);
  const memory = meminfo === undefined ? undefined : parseMeminfo(meminfo);
  const usedBytes = memory
    ? (memory.totalKib - memory.availableKib) * 1024
    : source.totalmem() - source.freemem();

  return {
    cpu_load: round(cpuLoad, 3),
    mem_used_mb: round(Math.max(0, usedBytes) / bytesPerMiB, 1),
  };
}

/**
 * Parses MemTotal and MemAvailable from the text of /proc/meminfo. The kernel labels the values
 * "kB" but counts them in KiB. Returns undefined when either line is missing.
 */
export function parseMeminfo(text: string): { totalKib: number; availableKib: number } | undefined {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) values.set(match[1], Number(match[2]));
  }

  const totalKib = values.get('MemTotal');
  const availableKib = values.get('MemAvailable');
  if (totalKib === undefined || availableKib === undefined) return undefined;
  return { totalKib, availableKib };
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
