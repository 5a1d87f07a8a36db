/**
 * RELIABILITY.md scenario 33, the short form of the own-memory soak: psutil's method for leaks
 * (run N cycles; if memory grew, run again with more; fail only if it keeps growing) applied
 * to a real Watcher under process churn, with the heap after a full collection, the USS, the
 * open fds and the active handles as the measures. The 1 h and 24 h soaks with 1000 processes,
 * scrapes and a failing webhook do not fit a suite run (CI has 90 minutes for all of it).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { WatchConfig } from '../../src/config/index.js';
import { compileRule } from '../../src/rules/index.js';
import { Watcher } from '../../src/watch/watcher.js';
import { start, waitForExit } from '../helpers/processes.js';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

interface Footprint {
  heapBytes: number;
  ussBytes: number;
  fds: number;
  handles: number;
}

function footprint(): Footprint {
  collect();
  collect();
  const rollup = readFileSync('/proc/self/smaps_rollup', 'latin1');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
  return {
    heapBytes: process.memoryUsage().heapUsed,
    ussBytes: (kib('Private_Clean') + kib('Private_Dirty')) * 1024,
    fds: readdirSync('/proc/self/fd').length,
    handles: process.getActiveResourcesInfo().length,
  };
}

/**
 * Growth beyond these, run after run, is a leak; below them it is noise (here, 200 cycles moved
 * the heap by up to 0.2 MB and the USS by 0.8 MB; the kept fds follow the processes alive).
 */
const TOLERANCE: Footprint = { heapBytes: 512 * 1024, ussBytes: 4 * 1024 * 1024, fds: 8, handles: 2 };
const FIRST_RUN_CYCLES = 200;
const RUNS = 4;

function grewBeyondTolerance(before: Footprint, after: Footprint): (keyof Footprint)[] {
  return (Object.keys(TOLERANCE) as (keyof Footprint)[]).filter((k) => after[k] - before[k] > TOLERANCE[k]);
}

function config(pattern: string): WatchConfig {
  const rules = [
    compileRule({ id: 't#1', target: 't', when: 'rss > 1GB', do: ['log'] }),
    compileRule({ id: 't#2', target: 't', when: 'leak', do: ['log'] }),
  ];
  return {
    file: '(test)',
    intervalMs: 100,
    retainMs: 86_400_000,
    store: { enabled: false },
    targets: [{ name: 't', match: { substrings: [pattern] }, rules }],
    rules,
    warnings: [],
  };
}

describe('own-memory soak, short (scenario 33)', () => {
  it('scenario 33: a watcher under process churn stops growing: heap, USS, fds and handles, run after longer run', async () => {
    const mark = `memwarden-soak-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
    const churn = start('sh', ['-c', `while :; do sleep 0.01 ${mark} 2>/dev/null; done`]);
    const holders = Array.from({ length: 20 }, () => start('sleep', ['600', mark]));
    const watcher = new Watcher(config(mark));
    const tick = async (cycles: number) => {
      for (let i = 0; i < cycles; i++) {
        watcher.tick();
        // Let the churn make and end processes between cycles, as a real interval would.
        if (i % 10 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    try {
      await tick(FIRST_RUN_CYCLES);
      const growths: string[] = [];
      let leaking: (keyof Footprint)[] = [];
      for (let run = 1; run <= RUNS; run++) {
        const before = footprint();
        await tick(FIRST_RUN_CYCLES * run);
        const after = footprint();
        leaking = grewBeyondTolerance(before, after);
        growths.push(
          `run ${run} (${FIRST_RUN_CYCLES * run} cycles): heap ${after.heapBytes - before.heapBytes}, USS ${after.ussBytes - before.ussBytes}, fds ${after.fds - before.fds}, handles ${after.handles - before.handles}`,
        );
        if (leaking.length === 0) break;
      }
      assert.deepEqual(leaking, [], `still growing after ${RUNS} runs:\n${growths.join('\n')}`);
    } finally {
      churn.kill('SIGKILL');
      for (const h of holders) h.kill('SIGKILL');
      await Promise.all([churn, ...holders].map(waitForExit));
    }
  });
});
