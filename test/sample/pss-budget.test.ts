import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tick } from '../../src/export/index.js';
import { type ProcessRecord, ProcReader } from '../../src/proc/index.js';
import { PssBudget } from '../../src/sample/index.js';
import { Ticker } from '../../src/watch/index.js';
import { pidOf, start, waitForExec, waitForExit } from '../helpers/processes.js';

/** A clock that moves `stepMs` at every read of it: each smaps_rollup read "takes" one step. */
function steppingClock(stepMs: number): () => number {
  let now = 1_000_000;
  return () => {
    now += stepMs;
    return now;
  };
}

/** A `sleep` argument unique to this run: the sleepers' own. */
function sleeperMarker(): string {
  return `${31_000 + (process.pid % 1000)}.${Math.random().toString().slice(2, 8)}`;
}

async function sleepers(count: number, marker = sleeperMarker()) {
  const children = Array.from({ length: count }, () => start('sleep', [marker]));
  for (const child of children) await waitForExec(pidOf(child), marker);
  return children;
}

function records(reader: ProcReader, pids: readonly number[]): ProcessRecord[] {
  return pids.map((pid) => {
    const record = reader.read(pid);
    assert.ok(record, `pid ${pid} is there`);
    return record;
  });
}

describe('PSS on a time budget', () => {
  it('reads the oldest values first within the budget, and gives the rest their last value and its age', async () => {
    const children = await sleepers(5);
    const pids = children.map(pidOf);
    const reader = new ProcReader();
    try {
      // Each read takes 10 ms on this clock: a 25 ms budget is spent after the third.
      const budget = new PssBudget({ budgetMs: 25, clock: steppingClock(10) });
      const first = records(reader, pids);
      assert.equal(budget.fill(reader, first).size, 0);
      assert.deepEqual(budget.stats, { reads: 3, spentMs: 30, deferred: 2, slowSkipped: 0 });
      assert.equal(first.filter((r) => r.pss !== undefined && r.pssAgeMs === 0).length, 3);
      const unread = first.filter((r) => r.pss === undefined).map((r) => r.pid);
      assert.equal(unread.length, 2);

      const second = records(reader, pids);
      budget.fill(reader, second);
      // The two never read come first, then the oldest of the others.
      for (const pid of unread) assert.equal(second.find((r) => r.pid === pid)?.pssAgeMs, 0);
      const kept = second.filter((r) => (r.pssAgeMs ?? 0) > 0);
      assert.equal(kept.length, 2);
      for (const r of kept) assert.ok(r.pss !== undefined && r.pss > 0, JSON.stringify(r));
    } finally {
      reader.close();
      for (const child of children) child.kill('SIGKILL');
      await Promise.all(children.map(waitForExit));
    }
  });

  it('skips a process whose last read was slow until its value is old, and drops one that is gone', async () => {
    const children = await sleepers(3);
    const pids = children.map(pidOf);
    const reader = new ProcReader();
    try {
      // Every read takes 150 ms here: slow, and past the budget on its own.
      const budget = new PssBudget({
        budgetMs: 25,
        slowReadMs: 100,
        slowRereadMs: 60_000,
        clock: steppingClock(150),
      });
      for (let cycle = 0; cycle < 3; cycle++) {
        budget.fill(reader, records(reader, pids));
        assert.equal(budget.stats.reads, 1, 'at least one read a cycle, however slow');
      }
      const all = records(reader, pids);
      budget.fill(reader, all);
      assert.deepEqual(budget.stats, { reads: 0, spentMs: 0, deferred: 0, slowSkipped: 3 });
      for (const r of all) assert.ok(r.pss !== undefined && (r.pssAgeMs ?? 0) > 0, JSON.stringify(r));

      assert.equal(budget.size, 3);
      budget.fill(reader, records(reader, pids.slice(1)));
      assert.equal(budget.size, 2, 'a process no longer asked for is forgotten');
    } finally {
      reader.close();
      for (const child of children) child.kill('SIGKILL');
      await Promise.all(children.map(waitForExit));
    }
  });

  it("gives top's and serve's ticks the same budget: a value not read this tick is the last one, with its age", async () => {
    const marker = sleeperMarker();
    const children = await sleepers(5, marker);
    const ticker = new Ticker([{ name: 'sleepers', filter: { substrings: [`sleep ${marker}`] } }], {
      pss: true,
      pssBudget: new PssBudget({ budgetMs: 25, clock: steppingClock(10) }),
    });
    try {
      const members = (tick: Tick) => tick.targets.find((t) => t.name === 'sleepers')?.processes ?? [];
      const first = members(ticker.tick());
      assert.equal(first.length, 5);
      assert.equal(first.filter((p) => p.pss !== undefined).length, 3, 'three reads fit the budget');
      const second = members(ticker.tick());
      assert.equal(second.filter((p) => p.pss !== undefined).length, 5);
      assert.equal(second.filter((p) => (p.pssAgeMs ?? 0) > 0).length, 2, 'two kept from the first tick');
    } finally {
      ticker.close();
      for (const child of children) child.kill('SIGKILL');
      await Promise.all(children.map(waitForExit));
    }
  });
});
