import type { CgroupInfo, CpuTimes, ProcessRecord, ProcReader } from '../proc/index.js';
import {
  CLOCK_TICKS_PER_SECOND,
  cpuBusyPercent,
  cpuCount,
  type Pressure,
  readCgroupMemory,
  readKernelStat,
  readLoadAverage,
  readMemInfo,
  readPressure,
  readUptimeSeconds,
  unifiedMount,
} from '../proc/index.js';
import { redactedArgv } from '../redact.js';
import type { ProcessSample, SystemSample } from './types.js';

interface PreviousCpu {
  startTicks: number;
  cpuTicks: number;
  atMs: number;
  /** The round that last saw this pid. */
  generation: number;
}

/**
 * Turns successive reads into samples. It remembers, per pid, the CPU ticks and start time of
 * the last read, so CPU % is a true rate over the time between two reads (100 % = one core),
 * and forgets every pid that was not read in the latest round so its memory stays bounded.
 */
export class Sampler {
  private readonly previous = new Map<number, PreviousCpu>();
  private generation = 0;
  private previousSystemCpu: CpuTimes | undefined;
  /**
   * The kernel's fork count as of the last `system()`, for `ProcReader.sweep`: taken before a
   * sweep, an unchanged count lets that sweep skip listing /proc. Undefined if not shown.
   */
  forks: number | undefined;

  /** Where cgroup v2 is mounted, found once. */
  private readonly unifiedRoot: string;

  constructor(private readonly reader: ProcReader) {
    this.unifiedRoot = unifiedMount(reader.cgroupRoot);
  }

  system(): SystemSample {
    const root = this.reader.root;
    const mem = readMemInfo(root);
    const { cpu, forks } = readKernelStat(root);
    this.forks = forks;
    const cpuPercent = this.previousSystemCpu ? cpuBusyPercent(this.previousSystemCpu, cpu) : undefined;
    this.previousSystemCpu = cpu;
    const [load1, load5, load15] = readLoadAverage(root);
    const used = mem.totalBytes - mem.availableBytes;
    const sample: SystemSample = {
      time: Date.now(),
      memTotal: mem.totalBytes,
      memAvailable: mem.availableBytes,
      memUsed: used,
      memPercent: mem.totalBytes > 0 ? (used / mem.totalBytes) * 100 : 0,
      swapTotal: mem.swapTotalBytes,
      swapFree: mem.swapFreeBytes,
      cpuCount: cpuCount(),
      load1,
      load5,
      load15,
      uptimeSeconds: readUptimeSeconds(root),
    };
    if (cpuPercent !== undefined) sample.cpuPercent = cpuPercent;
    const pressure = readPressure(`${root}/pressure/memory`);
    if (pressure) sample.pressure = pressure;
    return sample;
  }

  /**
   * Samples the given records (one sweep's selection), turning each record into its sample in
   * place: records are fresh objects from every read, and copying a thousand of them per tick
   * was most of a tick's cost. `withCgroup` adds the cgroup path and the memory % of its limit;
   * limits are read once per cgroup per call.
   */
  processes(records: readonly ProcessRecord[], memTotalBytes: number, withCgroup = true): ProcessSample[] {
    const time = Date.now();
    const generation = ++this.generation;
    const cgroups = new Map<string, CgroupInfo | undefined>();
    const pressures = new Map<string, Pressure | undefined>();
    const samples: ProcessSample[] = [];
    for (const record of records) {
      const sample = record as ProcessSample;
      sample.time = time;
      // The one place secrets leave command lines: every output (console lines, --json, --log,
      // the store, the API, metrics, webhooks, events) is made from samples, none from records.
      sample.cmdline = redactedArgv(record.cmdline);
      const before = this.previous.get(record.pid);
      if (before === undefined) {
        this.previous.set(record.pid, {
          startTicks: record.startTicks,
          cpuTicks: record.cpuTicks,
          atMs: record.cpuReadMs,
          generation,
        });
      } else {
        if (before.startTicks === record.startTicks && record.cpuReadMs > before.atMs) {
          const seconds = (record.cpuReadMs - before.atMs) / 1000;
          sample.cpuPercent = ((record.cpuTicks - before.cpuTicks) / CLOCK_TICKS_PER_SECOND / seconds) * 100;
        }
        before.startTicks = record.startTicks;
        before.cpuTicks = record.cpuTicks;
        before.atMs = record.cpuReadMs;
        before.generation = generation;
      }
      if (record.rss !== undefined && memTotalBytes > 0)
        sample.memPercent = (record.rss / memTotalBytes) * 100;
      if (withCgroup && !record.kernelThread) this.addCgroup(sample, cgroups, pressures);
      samples.push(sample);
    }
    // Forget processes that were not in this round, so the map never outgrows the selection.
    if (this.previous.size > records.length) {
      for (const [pid, entry] of this.previous)
        if (entry.generation !== generation) this.previous.delete(pid);
    }
    return samples;
  }

  private addCgroup(
    sample: ProcessSample,
    cache: Map<string, CgroupInfo | undefined>,
    pressures: Map<string, Pressure | undefined>,
  ): void {
    const paths = this.reader.cgroupPaths(sample.pid);
    const key = paths?.memoryV1 ?? paths?.unified;
    if (!paths || key === undefined) return;
    // Pressure is kept by cgroup v2 alone (hybrid hosts too); the root's is the machine's.
    const unified = paths.unified;
    if (unified !== undefined && unified !== '/') {
      if (!pressures.has(unified))
        pressures.set(unified, readPressure(`${this.unifiedRoot}${unified}/memory.pressure`));
      const pressure = pressures.get(unified);
      if (pressure) sample.cgroupPressure = pressure;
    }
    let info = cache.get(key);
    if (!cache.has(key)) {
      info = readCgroupMemory(paths, this.reader.cgroupRoot);
      cache.set(key, info);
    }
    sample.cgroup = key;
    if (info?.limitBytes !== undefined) {
      sample.cgroupLimitBytes = info.limitBytes;
      if (sample.rss !== undefined) sample.memLimitPercent = (sample.rss / info.limitBytes) * 100;
    }
  }
}
