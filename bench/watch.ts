/**
 * The watcher's own cost while it watches 1000 processes every second: CPU % of one core and
 * RSS over the run, next to the psutil loop it replaces doing the same job. BENCH_WATCH_SECONDS
 * sets the length (default 120).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, startSleepers } from './lib.js';

const SECONDS = Number(process.env.BENCH_WATCH_SECONDS ?? 120);
const SLEEPERS = Number(process.env.BENCH_SLEEPERS ?? 1000);
const BIN = fileURLToPath(new URL('../bin/memwarden.js', import.meta.url));

interface Usage {
  cpuNs: number;
  rssBytes: number;
}

/**
 * CPU time from every thread's schedstat (nanoseconds, exact), not stat's utime and stime: those
 * are sampled at clock ticks, too coarse and too noisy for a process that wakes once a second
 * for a few milliseconds. Threads count too: the garbage collector's helpers are part of the cost.
 */
function usageOf(pid: number): Usage | undefined {
  try {
    let cpuNs = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      cpuNs += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    }
    const statm = readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ');
    return { cpuNs, rssBytes: Number(statm[1]) * 4096 };
  } catch {
    return undefined;
  }
}

async function measure(name: string, child: ChildProcess): Promise<string> {
  const pid = child.pid as number;
  // Start-up (loading code, the first sweep) is not the steady state being measured.
  await new Promise((r) => setTimeout(r, 5000));
  const first = usageOf(pid);
  const rss: number[] = [];
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const u = usageOf(pid);
    if (u) rss.push(u.rssBytes);
  }
  const last = usageOf(pid);
  const elapsedS = (performance.now() - started) / 1000;
  child.kill('SIGKILL');
  if (!first || !last) return `${name.padEnd(28)}  exited early`;
  const cpu = ((last.cpuNs - first.cpuNs) / 1e9 / elapsedS) * 100;
  const mib = (b: number | undefined) => ((b ?? 0) / 1048576).toFixed(1).padStart(7);
  const tenth = Math.max(1, Math.floor(rss.length / 10));
  const early = rss.slice(0, tenth);
  const late = rss.slice(-tenth);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return `${name.padEnd(28)}  ${cpu.toFixed(2).padStart(6)}%  ${mib(avg(early))}  ${mib(avg(late))}  ${mib(Math.max(...rss))}`;
}

export async function benchWatch(): Promise<void> {
  const crowd = await startSleepers(SLEEPERS);
  try {
    const lines: string[] = [];
    const watcher = spawn(
      process.execPath,
      [BIN, 'watch', '--match', 'sleep 3600', '--interval', '1s', '--no-store', '--json'],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    lines.push(await measure('memwarden watch --json', watcher));
    const watcherWithStore = spawn(
      process.execPath,
      [
        BIN,
        'watch',
        '--match',
        'sleep 3600',
        '--interval',
        '1s',
        '--store',
        '/tmp/memwarden-bench-history.db',
        '--json',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    lines.push(await measure('memwarden watch + history', watcherWithStore));
    const seed = spawn('/usr/bin/python3', [`${BENCH_DIR}seed-loop.py`, 'sleep 3600', '1'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    lines.push(await measure('psutil loop (the seed)', seed));
    process.stdout.write(
      `\nwatching ${SLEEPERS} processes every 1 s for ${SECONDS} s: own CPU (% of one core) and RSS (MiB)\n`,
    );
    process.stdout.write(
      `${'watcher'.padEnd(28)}  ${'cpu'.padStart(7)}  ${'rss 1st'.padStart(7)}  ${'rss last'.padStart(7)}  ${'rss max'.padStart(7)}\n`,
    );
    for (const line of lines) process.stdout.write(`${line}\n`);
    process.stdout.write('(rss 1st / last: the mean over the first and the last tenth of the run)\n');
  } finally {
    crowd.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchWatch();
