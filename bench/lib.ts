/** Shared by the benchmarks: peers installed on demand, a crowd of sleeps, medians, a ratio table. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const PEERS_DIR = `${BENCH_DIR}peers`;

/**
 * Installs the peer packages (memlab, pidusage, ps-list, systeminformation) once. Undefined when
 * they are ready, else why not.
 */
export function ensurePeers(): string | undefined {
  if (existsSync(`${PEERS_DIR}/node_modules`)) return undefined;
  process.stderr.write('installing benchmark peers into bench/peers…\n');
  const install = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: PEERS_DIR,
    stdio: ['ignore', 'ignore', 'inherit'],
    // memlab depends on puppeteer, which would fetch a browser the benchmarks never use.
    env: { ...process.env, PUPPETEER_SKIP_DOWNLOAD: '1' },
  });
  return install.status === 0 ? undefined : `npm ci in bench/peers failed (exit ${install.status})`;
}

/** Starts `count` sleep processes in one process group; `stop()` kills them all. */
export async function startSleepers(count: number): Promise<{ stop(): void }> {
  const group: ChildProcess = spawn(
    'sh',
    ['-c', `i=0; while [ $i -lt ${count} ]; do sleep 3600 & i=$((i+1)); done; echo started; wait`],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  await new Promise<void>((resolve) => group.stdout?.once('data', () => resolve()));
  const stop = () => {
    try {
      if (group.pid) process.kill(-group.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', stop);
  return { stop };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Runs `fn` `rounds` times (after one warm-up) and returns the median in milliseconds. */
export async function timeMedian(rounds: number, fn: () => unknown): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

export interface Row {
  name: string;
  /** Median wall time. */
  ms?: number;
  /** Mean CPU time of this process alone, where it can be measured: steadier on a busy machine. */
  cpuMs?: number;
  note?: string;
}

/** Like timeMedian, and also the mean CPU time (user + system) of this process per round. */
export async function timeWithCpu(rounds: number, fn: () => unknown): Promise<{ ms: number; cpuMs: number }> {
  await fn();
  const before = process.cpuUsage();
  const ms = await timeMedian(rounds, fn);
  const used = process.cpuUsage(before);
  // timeMedian runs fn once more as its own warm-up.
  return { ms, cpuMs: (used.user + used.system) / 1000 / (rounds + 1) };
}

/** Prints rows with each one's times as ratios to the reference row's. */
export function printRatios(title: string, rows: Row[], reference: string): void {
  const ref = rows.find((r) => r.name === reference);
  const width = Math.max(...rows.map((r) => r.name.length));
  const num = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2)).padStart(9);
  const ratio = (v: number | undefined, base: number | undefined) =>
    (v === undefined || base === undefined ? '' : (v / base).toFixed(2)).padStart(7);
  const header = ['wall ms'.padStart(9), 'ratio'.padStart(7), 'cpu ms'.padStart(9), 'ratio'.padStart(7)];
  process.stdout.write(`\n${title}\n${'tool'.padEnd(width)}  ${header.join('  ')}\n`);
  for (const r of rows) {
    const cells = [num(r.ms), ratio(r.ms, ref?.ms), num(r.cpuMs), ratio(r.cpuMs, ref?.cpuMs)];
    process.stdout.write(`${r.name.padEnd(width)}  ${cells.join('  ')}${r.note ? `  ${r.note}` : ''}\n`);
  }
  process.stdout.write(`(ratios are to ${reference}; below 1 is faster)\n`);
}
