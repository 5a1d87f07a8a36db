/**
 * One full sweep of every process (the fields of `memwarden ps --all --json`) with 1000 extra
 * `sleep`s running: memwarden's sampler in-process next to psutil, ps, pidusage, ps-list,
 * systeminformation, and a C program that only opens, reads and closes stat, statm and cmdline.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcReader } from '../src/proc/index.js';
import { Sampler } from '../src/sample/index.js';
import {
  BENCH_DIR,
  ensurePeers,
  median,
  PEERS_DIR,
  printRatios,
  type Row,
  startSleepers,
  timeMedian,
  timeWithCpu,
} from './lib.js';

const SLEEPERS = Number(process.env.BENCH_SLEEPERS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

function memwardenSweep(reader: ProcReader, sampler: Sampler): number {
  const system = sampler.system();
  return sampler.processes(reader.sweep(), system.memTotal).length;
}

/** A peer that times itself and prints `wallMs count cpuMs`. */
function selfTimed(command: string, args: string[]): { ms: number; count: number; cpuMs: number } {
  const [ms, count, cpuMs] = execFileSync(command, args, { encoding: 'utf8' }).trim().split(' ').map(Number);
  return { ms: ms ?? Number.NaN, count: count ?? 0, cpuMs: cpuMs ?? Number.NaN };
}

export async function benchSweep(): Promise<void> {
  const peersProblem = ensurePeers();
  if (peersProblem) {
    process.stdout.write(`\nsweep: ${peersProblem}\n`);
    return;
  }
  const require = createRequire(`${PEERS_DIR}/`);
  const pidusage = require('pidusage') as (pids: number[]) => Promise<unknown>;
  const psListModule = `${PEERS_DIR}/node_modules/ps-list/index.js`;
  const { default: psList } = (await import(psListModule)) as { default: () => Promise<unknown[]> };

  const crowd = await startSleepers(SLEEPERS);
  try {
    const rows: Row[] = [];
    const warm = new ProcReader();
    const warmSampler = new Sampler(warm);
    const count = memwardenSweep(warm, warmSampler);
    rows.push({
      name: 'memwarden (kept fds)',
      ...(await timeWithCpu(ROUNDS, () => memwardenSweep(warm, warmSampler))),
      note: `${count} processes, in-process`,
    });
    warm.close();
    rows.push({
      name: 'memwarden (cold)',
      ...(await timeWithCpu(ROUNDS, () => {
        const reader = new ProcReader();
        memwardenSweep(reader, new Sampler(reader));
        reader.close();
      })),
      note: 'a new reader each round',
    });

    const binary = join(mkdtempSync(join(tmpdir(), 'memwarden-bench-')), 'sweep');
    execFileSync('cc', ['-O2', '-o', binary, join(BENCH_DIR, 'c/sweep.c')]);
    const c = selfTimed(binary, [String(ROUNDS)]);
    rows.push({
      name: 'C open/read/close',
      ms: c.ms,
      cpuMs: c.cpuMs,
      note: 'stat+statm+cmdline, nothing parsed',
    });

    try {
      const py = selfTimed('/usr/bin/python3', [join(BENCH_DIR, 'sweep-psutil.py'), String(ROUNDS)]);
      rows.push({
        name: 'psutil process_iter',
        ms: py.ms,
        cpuMs: py.cpuMs,
        note: `${py.count} processes, in-process`,
      });
    } catch {
      rows.push({ name: 'psutil process_iter', note: 'python3-psutil not installed' });
    }
    const psArgs = ['-eo', 'pid,ppid,user,stat,lstart,rss,vsz,pcpu,nlwp,args'];
    rows.push({
      name: 'ps -eo …',
      ms: await timeMedian(ROUNDS, () => execFileSync('ps', psArgs, { maxBuffer: 64 << 20 })),
      note: 'a new ps each round',
    });
    const pids = new ProcReader().listPids();
    rows.push({
      name: 'pidusage',
      ms: await timeMedian(ROUNDS, () => pidusage(pids)),
      note: 'no cmdline or user',
    });
    rows.push({ name: 'ps-list', ms: await timeMedian(ROUNDS, () => psList()) });
    // systeminformation answers a repeated call from a cache, so each round is the first call
    // of a fresh process.
    const siScript = `const si = require('systeminformation'); const t = process.hrtime.bigint();
      si.processes().then(() => console.log(Number(process.hrtime.bigint() - t) / 1e6));`;
    const siTimes = [0, 1, 2].map(() =>
      Number(execFileSync(process.execPath, ['-e', siScript], { cwd: PEERS_DIR, encoding: 'utf8' })),
    );
    rows.push({ name: 'systeminformation', ms: median(siTimes), note: 'first call of a fresh process' });
    printRatios(`one full sweep, ${count} processes (median of ${ROUNDS})`, rows, 'memwarden (kept fds)');
  } finally {
    crowd.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchSweep();
