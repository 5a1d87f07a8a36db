/**
 * A watcher's cycle over every process with 1000 extra `sleep`s running: with per-process rules
 * only (today's cycle), with group rules (totals summed, the engine's group subject), with a
 * `total.pss` rule whose PSS is read on the cycle's time budget, and with PSS read for every
 * process each cycle, as it was before the budget; and what a group rule's escalation chain
 * costs before each of its steps, measuring the group again.
 */
import type { WatchConfig } from '../src/config/index.js';
import { ProcReader } from '../src/proc/index.js';
import { compileRule } from '../src/rules/index.js';
import { groupTotals, Sampler } from '../src/sample/index.js';
import { Watcher } from '../src/watch/index.js';
import { printRatios, type Row, startSleepers, timeWithCpu } from './lib.js';

const SLEEPERS = Number(process.env.BENCH_SLEEPERS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

function config(rules: string[], intervalMs = 1000): WatchConfig {
  const specs = rules.map((when, i) => compileRule({ id: `all#${i + 1}`, target: 'all', when, do: ['log'] }));
  return {
    file: '(bench)',
    intervalMs,
    retainMs: 86_400_000,
    store: { enabled: false },
    targets: [{ name: 'all', match: { all: true }, rules: specs }],
    rules: specs,
    warnings: [],
  };
}

async function cycle(name: string, rules: string[], note: string): Promise<Row> {
  const watcher = new Watcher(config(rules), {}, { pressureTrigger: false });
  let processes = 0;
  const timed = await timeWithCpu(ROUNDS, () => {
    processes = watcher.tick().targets[0]?.processes.length ?? 0;
  });
  watcher.close();
  return { name, ...timed, note: `${processes} processes; ${note}` };
}

/**
 * What a group rule's escalation chain does before each step: the target's members, as the last
 * cycle found them, read again and summed, and the rule asked on the sums.
 */
async function remeasure(when: string, note: string): Promise<Row> {
  const watcher = new Watcher(config([when]), {}, { pressureTrigger: false });
  const members = watcher.tick().targets[0]?.processes.length ?? 0;
  const timed = await timeWithCpu(ROUNDS, () => watcher.measureGroup('all#1', 'all'));
  watcher.close();
  return {
    name: `group chain re-measure, ${when.split(' ')[0]}`,
    ...timed,
    note: `${members} members; ${note}`,
  };
}

export async function benchGroups(): Promise<void> {
  const crowd = await startSleepers(SLEEPERS);
  try {
    const rows: Row[] = [];
    // A first watcher warms the kernel's and V8's caches for all, so that order does not count.
    await cycle('warm-up', ['rss > 100GB'], '');
    rows.push(await cycle('cycle, per-process rules', ['rss > 100GB', 'cpu% > 150%'], 'today'));
    rows.push(
      await cycle(
        'cycle + group rules',
        ['rss > 100GB', 'cpu% > 150%', 'total.rss > 1TB', 'count > 100000'],
        'group totals, one group subject',
      ),
    );
    rows.push(
      await cycle(
        'cycle + total.pss (budget)',
        ['rss > 100GB', 'cpu% > 150%', 'total.pss > 1TB'],
        'PSS on a 50 ms budget (1 s interval)',
      ),
    );
    rows.push(await remeasure('total.rss > 1TB', 'RSS only'));
    rows.push(await remeasure('total.pss > 1TB', "PSS on the chain's own 50 ms budget"));
    // PSS of every process at every cycle, as the watcher read it before the budget: the sweep,
    // the reads and the totals only, no rule engine, so a floor for what that cycle cost.
    const reader = new ProcReader();
    const sampler = new Sampler(reader);
    let count = 0;
    rows.push({
      name: 'sweep + PSS of all (no rules)',
      ...(await timeWithCpu(ROUNDS, () => {
        const system = sampler.system();
        const records = reader.sweep();
        for (const record of records) reader.addSmaps(record);
        const samples = sampler.processes(records, system.memTotal);
        count = samples.length;
        groupTotals(samples, () => ['all'], true);
      })),
      note: `${count} processes; every smaps_rollup read each cycle`,
    });
    reader.close();
    printRatios(
      `a watcher's cycle over every process, ${SLEEPERS} extra sleeps (median of ${ROUNDS})`,
      rows,
      'cycle, per-process rules',
    );
  } finally {
    crowd.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchGroups();
