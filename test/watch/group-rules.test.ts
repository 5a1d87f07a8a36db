import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { WatchConfig } from '../../src/config/index.js';
import { renderMetrics } from '../../src/export/index.js';
import { compileRule, type RuleEvent } from '../../src/rules/index.js';
import type { ProcessFilter } from '../../src/select/index.js';
import { Ticker } from '../../src/watch/ticker.js';
import { Watcher } from '../../src/watch/watcher.js';
import { canMakeMemoryCgroups, makeMemoryCgroup } from '../helpers/cgroups.js';
import { pidOf, start, waitForExec, waitForExit, waitForLine } from '../helpers/processes.js';

const MiB = 1024 * 1024;
const SHARED_FAMILY = fileURLToPath(new URL('../fixtures/shared-family.py', import.meta.url));

function config(match: ProcessFilter, rules: string[]): WatchConfig {
  const specs = rules.map((when, i) => compileRule({ id: `t#${i + 1}`, target: 't', when, do: ['log'] }));
  return {
    file: '(test)',
    intervalMs: 1000,
    retainMs: 86_400_000,
    store: { enabled: false },
    targets: [{ name: 't', match, rules: specs }],
    rules: specs,
    warnings: [],
  };
}

function pssOf(pid: number): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1]) * 1024;
}

describe('group rules on real processes', () => {
  it('fires a total.pss rule once for a family sharing 200 MB, and a per-process rule per process', async () => {
    const marker = `memwarden-group-rule-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const family = start('python3', [SHARED_FAMILY, marker]);
    const watcher = new Watcher(
      config({ substrings: [marker] }, ['total.pss > 150MB', 'rss > 150MB', 'count == 5']),
    );
    try {
      await waitForLine(family, /ready/, 60_000);
      // PSS is read on the cycle's budget: the group's total is unknown until each member's is.
      const first: RuleEvent[] = [];
      for (let i = 0; i < 50 && !first.some((e) => e.ruleId === 't#1'); i++)
        first.push(...watcher.tick().events);
      const group = first.filter((e) => e.ruleId === 't#1');
      assert.equal(group.length, 1, JSON.stringify(first.map((e) => e.message)));
      const [fired] = group as [RuleEvent];
      assert.equal(fired.kind, 'fired');
      assert.equal(fired.identity, undefined);
      assert.equal(fired.name, 't');
      const info = fired.group;
      assert.ok(info);
      assert.equal(info.count, 5);
      assert.equal(info.pssFromRss, 0);
      assert.match(fired.message, /on target t \(5 processes, biggest pid \d+/);
      // smem's accounting: each member's own Pss line, read now.
      const reference = info.members.reduce((sum, m) => sum + pssOf(m.pid), 0);
      assert.ok(
        info.pss !== undefined && Math.abs(info.pss - reference) <= reference * 0.05,
        `${info.pss} vs ${reference}`,
      );
      assert.ok(info.rss - (info.pss ?? 0) >= 500 * MiB, `rss ${info.rss}, pss ${info.pss}`);

      const perProcess = first.filter((e) => e.ruleId === 't#2');
      assert.equal(perProcess.length, 5);
      assert.equal(new Set(perProcess.map((e) => e.identity?.pid)).size, 5);
      assert.equal(first.filter((e) => e.ruleId === 't#3').length, 1);

      // Still above: the cooldown holds it to that one event.
      const second = watcher.tick().events;
      assert.deepEqual(
        second.filter((e) => e.kind === 'fired'),
        [],
      );

      process.kill(-pidOf(family), 'SIGKILL');
      await waitForExit(family);
      // The group is now empty: its rules clear (3 cycles) and each resolves once.
      const resolved: RuleEvent[] = [];
      for (let i = 0; i < 5; i++) resolved.push(...watcher.tick().events);
      const groupResolved = resolved.filter((e) => e.ruleId !== 't#2');
      assert.deepEqual(
        groupResolved.map((e) => [e.ruleId, e.kind, e.reason]),
        [
          ['t#1', 'resolved', 'cleared'],
          ['t#3', 'resolved', 'cleared'],
        ],
      );
      assert.equal(resolved.filter((e) => e.ruleId === 't#2' && e.reason === 'gone').length, 5);
    } finally {
      watcher.close();
    }
  });

  it("reads a cgroup target's own memory.current, memory.max and limit%", async (t) => {
    if (!canMakeMemoryCgroups()) {
      t.skip('needs root and a cgroup v1 memory controller');
      return;
    }
    const cgroup = makeMemoryCgroup(100 * MiB);
    // It allocates only once it is in the cgroup: v1 leaves a page charged where it was touched.
    const holder = start(
      'python3',
      [
        '-c',
        'import sys, signal; sys.stdin.readline(); b = b"x" * (30 * 1024 * 1024); print("ready", flush=True); signal.pause()',
        `memwarden-cgroup-group-${process.pid}`,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const watcher = new Watcher(
      config({ cgroups: [cgroup.path] }, [
        'memory.current > 20MB and memory.max < 200MB',
        'total.limit% > 20%',
        'count < 1',
      ]),
    );
    try {
      await waitForExec(pidOf(holder), 'memwarden-cgroup-group');
      writeFileSync(`${cgroup.dir}/cgroup.procs`, String(pidOf(holder)));
      holder.stdin?.write('go\n');
      await waitForLine(holder, /ready/, 20_000);
      const tick = watcher.tick();
      const { events } = tick;
      // The same cgroup is on the tick's target, for /metrics, and so it is on `top`'s and
      // `serve`'s ticks, which no rule drives.
      assert.equal(tick.targets[0]?.cgroup?.limitBytes, 100 * MiB);
      const ticker = new Ticker([{ name: 't', filter: { cgroups: [cgroup.path] } }]);
      try {
        const served = renderMetrics(ticker.tick());
        assert.match(served, /^memwarden_target_cgroup_memory_max_bytes\{target="t"\} 104857600$/m);
        assert.match(served, /^memwarden_target_cgroup_memory_current_bytes\{target="t"\} [1-9]/m);
      } finally {
        ticker.close();
      }
      assert.deepEqual(
        events.map((e) => [e.ruleId, e.kind]),
        [
          ['t#1', 'fired'],
          ['t#2', 'fired'],
        ],
      );
      const info = events[0]?.group;
      assert.equal(info?.cgroup, cgroup.path);
      assert.equal(info?.limitBytes, 100 * MiB);
      assert.ok((info?.currentBytes ?? 0) > 20 * MiB, String(info?.currentBytes));
      assert.deepEqual(
        info?.members.map((m) => m.pid),
        [pidOf(holder)],
      );

      holder.kill('SIGKILL');
      await waitForExit(holder);
      // No process left: `count < 1` holds for the empty group, which is still the target's.
      const later: RuleEvent[] = [];
      for (let i = 0; i < 2; i++) later.push(...watcher.tick().events);
      assert.ok(
        later.some((e) => e.ruleId === 't#3' && e.kind === 'fired' && /no processes/.test(e.message)),
        JSON.stringify(later.map((e) => e.message)),
      );
    } finally {
      watcher.close();
    }
  });
});
