/**
 * Whole-process times of the CLI, as a person typing a command waits for them: `memwarden
 * --help`, `ps --help`, `system --json` and `ps --all --json` (1000 extra `sleep`s running),
 * next to `node -e 0` (the floor every Node program pays), `ps aux` and psutil one-liners.
 * Each is spawned anew every round; the median wall time is printed, then the margins the
 * goals are stated in (start-up over `node -e 0`, and over the CPU sample window).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, printRatios, type Row, startSleepers } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const SLEEPERS = Number(process.env.BENCH_SLEEPERS ?? 1000);
const BIN = fileURLToPath(new URL('../bin/memwarden.js', import.meta.url));
/** `system` and `ps` measure CPU % over this window (their default --sample). */
const SAMPLE_MS = 250;

/** GNU time reports the CPU a whole process used: steadier than wall time on a busy machine. */
const TIME = '/usr/bin/time';

/**
 * Median wall time and CPU time (user + system, through GNU time when installed) of running
 * the command to its end, in ms; undefined if it cannot run.
 */
function measure(command: string, args: string[]): { ms: number; cpuMs?: number } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'memwarden-bench-cli-'));
  const cpuFile = join(dir, 'cpu');
  const withTime = existsSync(TIME);
  const times: number[] = [];
  const cpu: number[] = [];
  try {
    for (let i = 0; i <= ROUNDS; i++) {
      const start = process.hrtime.bigint();
      const run = withTime
        ? spawnSync(TIME, ['-f', '%U %S', '-o', cpuFile, command, ...args], { stdio: 'ignore' })
        : spawnSync(command, args, { stdio: 'ignore' });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (run.status !== 0) return undefined;
      // The first round warms the page cache.
      if (i === 0) continue;
      times.push(ms);
      if (withTime) {
        const [user, system] = readFileSync(cpuFile, 'utf8').trim().split(' ').map(Number);
        cpu.push(((user ?? 0) + (system ?? 0)) * 1000);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { ms: median(times), ...(cpu.length > 0 ? { cpuMs: median(cpu) } : {}) };
}

function row(name: string, command: string, args: string[], note?: string): Row {
  const m = measure(command, args);
  return m === undefined
    ? { name, note: `${command} did not run` }
    : { name, ...m, ...(note ? { note } : {}) };
}

const PSUTIL_PROCESSES =
  "import psutil; [p.info for p in psutil.process_iter(['pid','ppid','name','cmdline','username','memory_info','memory_percent','num_threads','create_time'])]";
const PSUTIL_SYSTEM =
  'import psutil; psutil.virtual_memory(); psutil.swap_memory(); psutil.cpu_percent(0.25); psutil.getloadavg()';

export async function benchCli(): Promise<void> {
  const node = process.execPath;
  const startup: Row[] = [
    row('node -e 0', node, ['-e', '0']),
    row('memwarden --help', node, [BIN, '--help']),
    row('memwarden ps --help', node, [BIN, 'ps', '--help']),
    row(
      'memwarden system --json',
      node,
      [BIN, 'system', '--json'],
      `includes the ${SAMPLE_MS} ms CPU window`,
    ),
    row('psutil system one-liner', '/usr/bin/python3', ['-c', PSUTIL_SYSTEM], 'includes a 250 ms CPU window'),
  ];
  printRatios(`CLI start-up, whole processes (median of ${ROUNDS})`, startup, 'node -e 0');

  const sleepers = await startSleepers(SLEEPERS);
  let sweep: Row[];
  try {
    sweep = [
      row('node -e 0', node, ['-e', '0']),
      row(
        'memwarden ps --all --json',
        node,
        [BIN, 'ps', '--all', '--json'],
        `includes the ${SAMPLE_MS} ms CPU window`,
      ),
      row('ps aux', 'ps', ['aux'], 'no CPU window (lifetime average)'),
      row('psutil process_iter one-liner', '/usr/bin/python3', ['-c', PSUTIL_PROCESSES], 'no CPU window'),
    ];
  } finally {
    sleepers.stop();
  }
  printRatios(
    `Every process with ${SLEEPERS} extra sleeps, whole processes (median of ${ROUNDS})`,
    sweep,
    'node -e 0',
  );

  const ms = (rows: Row[], name: string) => rows.find((r) => r.name === name)?.ms;
  const margin = (value: number | undefined, base: number) =>
    value === undefined ? '-' : `${(value - base).toFixed(0)} ms`;
  const cpu = (rows: Row[], name: string) => rows.find((r) => r.name === name)?.cpuMs;
  const nodeMs = ms(startup, 'node -e 0') ?? Number.NaN;
  const nodeMs2 = ms(sweep, 'node -e 0') ?? Number.NaN;
  process.stdout.write(
    `\nmargins (goal in brackets):\n` +
      `  --help over node -e 0:                       ${margin(ms(startup, 'memwarden --help'), nodeMs)} (≤ 50 ms)\n` +
      `  system --json over the window + node -e 0:   ${margin(ms(startup, 'memwarden system --json'), SAMPLE_MS + nodeMs)} (≤ 60 ms)\n` +
      `  ps --all --json over the window + node -e 0: ${margin(ms(sweep, 'memwarden ps --all --json'), SAMPLE_MS + nodeMs2)} (≤ 100 ms)\n` +
      `  CPU of --help over node -e 0:                ${margin(cpu(startup, 'memwarden --help'), cpu(startup, 'node -e 0') ?? Number.NaN)}\n` +
      `(time in 10 ms steps from GNU time; on a busy machine the CPU margins are the steadier ones)\n`,
  );
}
