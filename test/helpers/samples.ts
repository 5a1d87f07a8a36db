/** Hand-made samples for tests of pure logic (rules, analysis) where no real process is needed. */
import type { ProcessSample, SystemSample } from '../../src/sample/index.js';

export const SYSTEM: SystemSample = {
  time: 0,
  memTotal: 8e9,
  memAvailable: 4e9,
  memUsed: 4e9,
  memPercent: 50,
  swapTotal: 0,
  swapFree: 0,
  cpuCount: 2,
  load1: 0,
  load5: 0,
  load15: 0,
  uptimeSeconds: 1000,
};

export function processSample(overrides: Partial<ProcessSample> = {}): ProcessSample {
  return {
    pid: 100,
    ppid: 1,
    name: 'worker',
    cmdline: ['worker'],
    state: 'S',
    uid: 1000,
    user: 'app',
    startTicks: 5000,
    startTime: 0,
    cpuTicks: 0,
    cpuReadMs: 0,
    threads: 4,
    kernelThread: false,
    time: 0,
    rss: 100e6,
    ...overrides,
  };
}
