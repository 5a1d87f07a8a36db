/** Sample records for the store tests; also used by the crash-harness child, so no test hooks here. */
import { readFileSync } from 'node:fs';
import type { ProcessSample, SystemSample } from '../../src/sample/types.js';
import type { SampleBatch } from '../../src/store/index.js';

export function processSample(overrides: Partial<ProcessSample> = {}): ProcessSample {
  return {
    pid: 4242,
    ppid: 1,
    name: 'node',
    cmdline: ['node', 'server.js'],
    state: 'S',
    uid: 1000,
    user: 'app',
    startTicks: 12345,
    startTime: 1_700_000_000_000,
    cpuTicks: 100,
    cpuReadMs: 0,
    threads: 7,
    kernelThread: false,
    time: 1_700_000_000_000,
    rss: 100_000_000,
    vms: 900_000_000,
    cpuPercent: 12.5,
    memPercent: 1.25,
    ...overrides,
  };
}

export function systemSample(time: number): SystemSample {
  return {
    time,
    memTotal: 8_000_000_000,
    memAvailable: 5_000_000_000,
    memUsed: 3_000_000_000,
    memPercent: 37.5,
    swapTotal: 0,
    swapFree: 0,
    cpuCount: 4,
    cpuPercent: 20,
    load1: 0.5,
    load5: 0.4,
    load15: 0.3,
    uptimeSeconds: 1000,
  };
}

/** One tick for `count` processes of target `web`, rss rising with `time`. */
export function batchAt(time: number, count = 1): SampleBatch {
  const processes = [];
  for (let i = 0; i < count; i++) {
    processes.push({
      target: 'web',
      sample: processSample({ pid: 4242 + i, time, rss: 100_000_000 + (time % 1_000_000) }),
    });
  }
  return { time, system: systemSample(time), processes };
}

/**
 * Commits recorded in the WAL file since its last reset: frames whose "database size after
 * commit" field is set, counting only frames that carry the header's current salts.
 */
export function walCommits(dbPath: string): number {
  let wal: Buffer;
  try {
    wal = readFileSync(`${dbPath}-wal`);
  } catch {
    return 0;
  }
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let commits = 0;
  for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) {
    if (wal.readUInt32BE(offset + 8) !== salt1 || wal.readUInt32BE(offset + 12) !== salt2) break;
    if (wal.readUInt32BE(offset + 4) !== 0) commits++;
  }
  return commits;
}
