/** Ticks for tests: made up where the numbers matter, sampled from real processes elsewhere. */
import type { Tick } from '../../src/export/index.js';
import { redactedArgv } from '../../src/redact.js';
import type { ProcessSample } from '../../src/sample/index.js';

/** A made-up sample; its command line redacted as the sampler redacts every real one. */
export function fakeProcess(pid: number, fields: Partial<ProcessSample> = {}): ProcessSample {
  const sample: ProcessSample = {
    pid,
    ppid: 1,
    name: 'worker',
    cmdline: ['worker', '--serve'],
    state: 'S',
    uid: 0,
    user: 'root',
    startTicks: 1000 + pid,
    startTime: 1_700_000_000_000,
    cpuTicks: 10,
    cpuReadMs: 0,
    threads: 1,
    kernelThread: false,
    time: 1_700_000_000_000,
    rss: 100 * 1024 * 1024,
    ...fields,
  };
  sample.cmdline = redactedArgv(sample.cmdline);
  return sample;
}

export function fakeTick(targets: Tick['targets'], time = Date.now()): Tick {
  return {
    time,
    system: {
      time,
      memTotal: 16 * 1024 ** 3,
      memAvailable: 8 * 1024 ** 3,
      memUsed: 8 * 1024 ** 3,
      memPercent: 50,
      swapTotal: 0,
      swapFree: 0,
      cpuCount: 2,
      cpuPercent: 25,
      load1: 0.5,
      load5: 0.4,
      load15: 0.3,
      uptimeSeconds: 1000,
    },
    targets,
    counters: {
      procReadErrors: { denied: 2, failed: 0 },
      cycleOverruns: 1,
      cycleErrors: 0,
      configLastReloadSuccess: true,
      lastCycleDurationMs: 12.5,
      storageWriteErrors: 0,
      samplesDropped: 0,
    },
  };
}
