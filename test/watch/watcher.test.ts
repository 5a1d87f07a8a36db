import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { WatchConfig } from '../../src/config/index.js';
import { compileRule } from '../../src/rules/index.js';
import { Watcher } from '../../src/watch/watcher.js';
import { start, waitForExit } from '../helpers/processes.js';

function config(pattern: string, intervalMs: number, rules: { when: string }[] = []): WatchConfig {
  const specs = rules.map((r, i) =>
    compileRule({ id: `t#${i + 1}`, target: 't', when: r.when, do: ['log'] }),
  );
  return {
    file: '(test)',
    intervalMs,
    retainMs: 86_400_000,
    store: { enabled: false },
    targets: [{ name: 't', match: { substrings: [pattern] }, rules: specs }],
    rules: specs,
    warnings: [],
  };
}

/** Processes on the machine now. */
function processCount(): number {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
}

describe('Watcher', () => {
  it('returns to its baseline state after heavy process churn (scenario 32)', async () => {
    const watcher = new Watcher(config('memwarden-churn', 100, [{ when: 'rss > 1GB' }, { when: 'leak' }]));
    watcher.tick();
    const baseline = watcher.stateSizes();
    const processesAtStart = processCount();
    const churn = start('sh', ['-c', 'while :; do sleep 0.01 memwarden-churn 2>/dev/null; /bin/true; done']);
    const holders = Array.from({ length: 20 }, () =>
      start('bash', ['-c', 'exec -a memwarden-churn-holder sleep 300']),
    );
    let peakSeries = 0;
    const deadline = performance.now() + 10_000;
    for (let i = 0; i < 30 || (peakSeries < 20 && performance.now() < deadline); i++) {
      watcher.tick();
      peakSeries = Math.max(peakSeries, watcher.stateSizes().trendSeries);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(peakSeries >= 20, `the watched processes were tracked (${peakSeries})`);
    churn.kill('SIGKILL');
    for (const h of holders) h.kill('SIGKILL');
    await Promise.all([churn, ...holders].map(waitForExit));
    for (let i = 0; i < 5; i++) watcher.tick();
    const after = watcher.stateSizes();
    assert.deepEqual(after, { ...after, ruleIdentities: 0, trendSeries: 0, partialWarnings: 0 });
    // The reader keeps files for every process of the machine, where other suites start and end
    // theirs meanwhile: what it keeps follows the machine's count, never the churn's dead.
    const grown = processCount() - processesAtStart;
    assert.ok(
      after.keptFds <= baseline.keptFds + Math.max(0, grown) + 5,
      `kept fds ${after.keptFds} vs ${baseline.keptFds} at start, the machine's processes grown by ${grown}`,
    );
  });

  it('skips and counts the slots a slow cycle overran, never piling cycles up', async () => {
    const watcher = new Watcher(config('memwarden-overrun-none', 50));
    let cycles = 0;
    watcher.on('tick', () => {
      cycles++;
      if (cycles === 1) {
        const until = performance.now() + 260;
        while (performance.now() < until) {
          // a cycle that takes five slots
        }
      }
    });
    await watcher.run(3);
    assert.equal(cycles, 3);
    assert.ok(watcher.counters.cycleOverruns >= 4, `overruns ${watcher.counters.cycleOverruns}`);
  });
});
