import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileRule,
  type ProcessObservation,
  type RememberedFiring,
  RuleEngine,
  type RuleEngineOptions,
  type RuleEvent,
  type RuleMemory,
} from '../../src/rules/index.js';
import {
  emptyGroupTotal,
  groupTotals,
  type ProcessSample,
  type SystemSample,
} from '../../src/sample/index.js';
import { processSample, SYSTEM } from '../helpers/samples.js';

const INTERVAL_MS = 10_000;
const MB = 1e6;

/** A monotonic clock the test moves by hand, and can make jump. */
class FakeClock {
  nowMs = 1_000_000;
  readonly read = (): number => this.nowMs;
}

function sample(overrides: Partial<ProcessSample> = {}): ProcessSample {
  return processSample({ rss: 100 * MB, ...overrides });
}

function rule(
  when: string,
  options: { id?: string; target?: string; do?: unknown; cooldownMs?: number } = {},
) {
  return compileRule(
    {
      id: options.id ?? 'app#1',
      target: options.target ?? 'app',
      when,
      do: options.do ?? ['log'],
      ...(options.cooldownMs === undefined ? {} : { cooldownMs: options.cooldownMs }),
    },
    { cpuCount: 2 },
  );
}

class Harness {
  readonly clock = new FakeClock();
  readonly engine: RuleEngine;
  readonly events: RuleEvent[] = [];

  constructor(rules: Parameters<RuleEngine['setRules']>[0], options: Partial<RuleEngineOptions> = {}) {
    this.engine = new RuleEngine(rules, { clock: this.clock.read, intervalMs: INTERVAL_MS, ...options });
  }

  /** One tick, `INTERVAL_MS` after the last, for the given processes (default: one with this rss). */
  tick(processes: ProcessObservation[] | number, system: SystemSample = SYSTEM): RuleEvent[] {
    this.clock.nowMs += INTERVAL_MS;
    const observations =
      typeof processes === 'number' ? [{ sample: sample({ rss: processes }), targets: ['app'] }] : processes;
    const events = this.engine.tick({ system, processes: observations });
    this.events.push(...events);
    return events;
  }

  ticks(count: number, rss: number): RuleEvent[] {
    const events: RuleEvent[] = [];
    for (let i = 0; i < count; i++) events.push(...this.tick(rss));
    return events;
  }

  count(kind: RuleEvent['kind']): number {
    return this.events.filter((event) => event.kind === kind).length;
  }
}

/**
 * Firings by `ruleKey|pid:start` (a group's by `ruleKey|target:NAME`), with the wall time of
 * each, as the history file keeps them.
 */
class MapMemory implements RuleMemory {
  readonly firings = new Map<string, { atMs: number; firing: boolean }>();
  wallMs = 0;
  recall(identity: { pid: number; startTicks: number }): RememberedFiring[] {
    return this.recallSubject(`${identity.pid}:${identity.startTicks}`);
  }
  fired(ruleKey: string, identity: { pid: number; startTicks: number }): void {
    this.firedSubject(ruleKey, `${identity.pid}:${identity.startTicks}`);
  }
  cleared(ruleKey: string, identity: { pid: number; startTicks: number }): void {
    this.clearedSubject(ruleKey, `${identity.pid}:${identity.startTicks}`);
  }
  forget(identity: { pid: number; startTicks: number }): void {
    for (const key of this.firings.keys())
      if (key.endsWith(`|${identity.pid}:${identity.startTicks}`)) this.firings.delete(key);
  }
  recallGroup(target: string): RememberedFiring[] {
    return this.recallSubject(`target:${target}`);
  }
  firedGroup(ruleKey: string, target: string): void {
    this.firedSubject(ruleKey, `target:${target}`);
  }
  clearedGroup(ruleKey: string, target: string): void {
    this.clearedSubject(ruleKey, `target:${target}`);
  }
  private recallSubject(subject: string): RememberedFiring[] {
    const suffix = `|${subject}`;
    return [...this.firings]
      .filter(([key]) => key.endsWith(suffix))
      .map(([key, f]) => ({
        ruleKey: key.slice(0, -suffix.length),
        agoMs: this.wallMs - f.atMs,
        firing: f.firing,
      }));
  }
  private firedSubject(ruleKey: string, subject: string): void {
    this.firings.set(`${ruleKey}|${subject}`, { atMs: this.wallMs, firing: true });
  }
  private clearedSubject(ruleKey: string, subject: string): void {
    const f = this.firings.get(`${ruleKey}|${subject}`);
    if (f) f.firing = false;
  }
}

describe('rule engine', () => {
  it('fires once when a threshold is crossed, not every cycle', () => {
    const h = new Harness([rule('rss > 500MB')]);
    h.ticks(3, 100 * MB);
    const events = h.ticks(20, 600 * MB);
    assert.equal(events.length, 1);
    const [fired] = events;
    assert.equal(fired?.kind, 'fired');
    assert.equal(fired?.ruleId, 'app#1');
    assert.deepEqual(fired?.identity, { pid: 100, startTicks: 5000 });
    assert.equal(fired?.value, 600 * MB);
    assert.equal(fired?.threshold, 500 * MB);
    assert.deepEqual(fired?.actions, [{ kind: 'log' }]);
    assert.match(fired?.message ?? '', /app#1 fired 'rss > 500MB' on pid 100 \(worker\): rss 572 MiB/);
  });

  it('does not fire `for 3m` on a spike', () => {
    const h = new Harness([rule('rss > 500MB for 3m')]);
    for (let i = 0; i < 10; i++) {
      h.ticks(1, 900 * MB);
      h.ticks(5, 100 * MB);
    }
    // The first tick above starts the clock; the 19th is 180 s after it.
    h.ticks(18, 900 * MB);
    assert.equal(h.count('fired'), 0);
    assert.equal(h.tick(900 * MB).length, 1);
    assert.equal(h.ticks(10, 900 * MB).length, 0);
  });

  it('fires after N true cycles within the last M', () => {
    const h = new Harness([rule('mem% > 40% 3 times within 5 cycles')]);
    const tickMem = (memPercent: number) =>
      h.tick([{ sample: sample({ memPercent }), targets: ['app'] }]).filter((e) => e.kind === 'fired').length;
    // Never three in any five.
    for (const mem of [50, 10, 10, 10, 50, 10, 10, 10, 50, 10, 10, 10, 50, 50]) assert.equal(tickMem(mem), 0);
    assert.equal(tickMem(50), 1);
  });

  it('counts exactly N of M for a spread pattern', () => {
    const h = new Harness([rule('mem% > 40% 3 times within 5 cycles')]);
    const fires = [50, 10, 50, 10, 50].map(
      (memPercent) => h.tick([{ sample: sample({ memPercent }), targets: ['app'] }]).length,
    );
    assert.deepEqual(fires, [0, 0, 0, 0, 1]);
  });

  it('repeats while the condition holds only after the cooldown', () => {
    const h = new Harness([rule('rss > 500MB', { cooldownMs: 60_000 })]);
    const events = h.ticks(19, 600 * MB);
    // Fired at tick 1, then at 60 s and 120 s later: ticks 1, 7, 13, 19.
    assert.equal(events.length, 4);
    assert.deepEqual(
      events.map((e) => e.repeat),
      [false, true, true, true],
    );
  });

  it('does not fire again within the cooldown after a resolve', () => {
    const h = new Harness([rule('rss > 500MB')]);
    h.ticks(1, 600 * MB);
    h.ticks(3, 100 * MB);
    assert.equal(h.count('resolved'), 1);
    h.ticks(5, 600 * MB);
    assert.equal(h.count('fired'), 1, 'still in the 5 min cooldown');
    h.ticks(30, 600 * MB);
    assert.equal(h.count('fired'), 2, 'fires again once the cooldown is over');
  });

  it('resolves only past the hysteresis margin, for several cycles', () => {
    const h = new Harness([rule('rss > 500MB')]);
    h.ticks(1, 600 * MB);
    // Just under the threshold but within 5 %: still firing.
    h.ticks(10, 490 * MB);
    assert.equal(h.count('resolved'), 0);
    // Clear twice, then back up: the streak starts over.
    h.ticks(2, 400 * MB);
    h.ticks(1, 600 * MB);
    h.ticks(2, 400 * MB);
    assert.equal(h.count('resolved'), 0);
    const events = h.ticks(1, 400 * MB);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.kind, 'resolved');
    assert.equal(events[0]?.reason, 'cleared');
    assert.deepEqual(events[0]?.actions, []);
    assert.equal(h.ticks(10, 100 * MB).length, 0);
  });

  it('resolves a below-threshold rule when the value rises past the margin', () => {
    const h = new Harness([rule('available < 1GB')]);
    const at = (memAvailable: number) =>
      h.tick([{ sample: sample(), targets: ['app'] }], { ...SYSTEM, memAvailable });
    assert.equal(at(0.5e9).length, 1);
    for (let i = 0; i < 5; i++) at(1.04e9);
    assert.equal(h.count('resolved'), 0);
    for (let i = 0; i < 3; i++) at(2e9);
    assert.equal(h.count('resolved'), 1);
  });

  it('makes no burst when the clock jumps forward during a cooldown', () => {
    const h = new Harness([rule('rss > 500MB', { cooldownMs: 5 * 60_000 })]);
    h.ticks(1, 600 * MB);
    h.clock.nowMs += 3_600_000;
    // The jump counts as one long step (2 intervals), not as an hour.
    h.ticks(25, 600 * MB);
    assert.equal(h.count('fired'), 1);
    h.ticks(10, 600 * MB);
    assert.equal(h.count('fired'), 2);
  });

  it('does not count a forward jump as time held for `for`', () => {
    const h = new Harness([rule('rss > 500MB for 3m')]);
    h.ticks(1, 600 * MB);
    h.clock.nowMs += 3_600_000;
    h.ticks(1, 600 * MB);
    assert.equal(h.count('fired'), 0);
  });

  it('does not suppress forever after the clock jumps back', () => {
    const h = new Harness([rule('rss > 500MB', { cooldownMs: 5 * 60_000 })]);
    h.ticks(1, 600 * MB);
    h.clock.nowMs -= 3_600_000;
    h.ticks(31, 600 * MB);
    assert.equal(h.count('fired'), 2, 'fires again after the cooldown, measured in ticks since the jump');
  });

  it('keeps counting cycles across a clock jump', () => {
    const h = new Harness([rule('mem% > 40% 3 times within 5 cycles', { cooldownMs: 0 })]);
    const tick = (memPercent: number) => h.tick([{ sample: sample({ memPercent }), targets: ['app'] }]);
    tick(50);
    h.clock.nowMs -= 3_600_000;
    tick(50);
    h.clock.nowMs += 7_200_000;
    tick(50);
    assert.equal(h.count('fired'), 1);
  });

  it('keeps state per identity: a reused pid is a new process', () => {
    const h = new Harness([rule('rss > 500MB')]);
    h.tick([{ sample: sample({ rss: 600 * MB }), targets: ['app'] }]);
    const events = h.tick([{ sample: sample({ rss: 600 * MB, startTicks: 9999 }), targets: ['app'] }]);
    assert.deepEqual(
      events.map((e) => [e.kind, e.reason, e.identity?.startTicks]),
      [
        ['resolved', 'gone', 5000],
        ['fired', undefined, 9999],
      ],
    );
  });

  it('returns to its baseline size after churn, resolving what was firing', () => {
    const h = new Harness([rule('rss > 500MB')]);
    const steady = { sample: sample({ pid: 1, rss: 600 * MB }), targets: ['app'] };
    h.tick([steady]);
    const baseline = h.engine.stats();
    let gone = 0;
    for (let round = 0; round < 50; round++) {
      const batch = Array.from({ length: 100 }, (_, i) => ({
        sample: sample({ pid: 1000 + round * 100 + i, rss: 600 * MB }),
        targets: ['app'],
      }));
      gone += h.tick([steady, ...batch]).filter((e) => e.reason === 'gone').length;
    }
    assert.ok(h.engine.stats().identities <= 1 + 100 * 3);
    for (let i = 0; i < 5; i++) gone += h.tick([steady]).filter((e) => e.reason === 'gone').length;
    assert.deepEqual(h.engine.stats(), baseline);
    assert.equal(gone, 5000, 'every short-lived process that fired gets its resolved event');
  });

  it('holds no state for processes that never come near a threshold', () => {
    const h = new Harness([rule('rss > 500MB for 3m')]);
    h.tick(Array.from({ length: 50 }, (_, i) => ({ sample: sample({ pid: 10 + i }), targets: ['app'] })));
    assert.equal(h.engine.stats().ruleStates, 0);
  });

  it('forgets a rule state once it is resolved and its cooldown is over', () => {
    const h = new Harness([rule('rss > 500MB', { cooldownMs: 60_000 })]);
    h.ticks(1, 600 * MB);
    h.ticks(3, 100 * MB);
    assert.equal(h.engine.stats().ruleStates, 1, 'remembers the cooldown');
    h.ticks(4, 100 * MB);
    assert.equal(h.engine.stats().ruleStates, 0);
  });

  it('caps the identities it holds and counts what it dropped', () => {
    const h = new Harness([rule('rss > 500MB')], { maxIdentities: 10 });
    h.tick(Array.from({ length: 25 }, (_, i) => ({ sample: sample({ pid: 10 + i }), targets: ['app'] })));
    assert.deepEqual(h.engine.stats(), {
      identities: 10,
      ruleStates: 0,
      historyPoints: 0,
      droppedIdentities: 15,
    });
  });

  it('never evaluates kernel threads, nor a process listed twice in one tick, twice', () => {
    const h = new Harness([rule('rss > 500MB', { cooldownMs: 0 })]);
    const kthread = { sample: sample({ pid: 2, kernelThread: true, rss: 900 * MB }), targets: ['app'] };
    const twice = { sample: sample({ rss: 900 * MB }), targets: ['app', 'app'] };
    const events = h.tick([kthread, twice, twice]);
    assert.deepEqual(
      events.map((e) => e.identity?.pid),
      [100],
    );
  });

  it('treats an unknown value as neither true nor clear', () => {
    const h = new Harness([rule('pss > 500MB')]);
    h.tick([{ sample: sample(), targets: ['app'] }]);
    assert.equal(h.count('fired'), 0);
    h.tick([{ sample: sample({ pss: 600 * MB }), targets: ['app'] }]);
    for (let i = 0; i < 10; i++) h.tick([{ sample: sample(), targets: ['app'] }]);
    assert.equal(h.count('fired'), 1);
    assert.equal(h.count('resolved'), 0);
  });

  it('evaluates leak and oom_in on values the trend detector provides', () => {
    const h = new Harness([rule('leak and oom_in < 2h', { cooldownMs: 0 })]);
    const tick = (leak: boolean | undefined, oomInSeconds: number | undefined) => {
      const observation: ProcessObservation = { sample: sample(), targets: ['app'] };
      if (leak !== undefined) observation.leak = leak;
      if (oomInSeconds !== undefined) observation.oomInSeconds = oomInSeconds;
      return h.tick([observation]);
    };
    assert.equal(tick(undefined, undefined).length, 0);
    assert.equal(tick(true, 3 * 3600).length, 0);
    assert.equal(tick(false, 600).length, 0);
    const [fired] = tick(true, 600);
    assert.equal(fired?.metric, 'leak');
    assert.match(fired?.message ?? '', /leak yes, oom_in 10m00s/);
  });

  it('measures growth over its window once the history spans it', () => {
    const h = new Harness([rule('growth > 50MB/h over 1h')]);
    let rss = 100 * MB;
    // 100 MB/h: about 278 kB per 10 s tick.
    for (let i = 0; i < 360; i++) {
      rss += (100 * MB) / 360;
      h.tick(rss);
    }
    assert.equal(h.count('fired'), 0, 'less than an hour of history');
    h.ticks(1, rss + (100 * MB) / 360);
    assert.equal(h.count('fired'), 1);
    assert.ok(h.engine.stats().historyPoints <= 34);
    h.tick([{ sample: sample({ pid: 7 }), targets: ['other'] }]);
    assert.ok(h.engine.stats().historyPoints <= 34, 'no history for a target without growth rules');
    const fired = h.events[0];
    assert.ok(typeof fired?.value === 'number' && Math.abs(fired.value * 3600 - 100 * MB) < 5 * MB);
  });

  it('keeps the state of unchanged rules across a reload', () => {
    const first = rule('rss > 500MB');
    const h = new Harness([first]);
    h.ticks(1, 600 * MB);
    h.engine.setRules([rule('threads > 1000', { id: 'app#1' }), { ...first, id: 'app#2' }]);
    h.ticks(3, 600 * MB);
    assert.equal(h.count('fired'), 1, 'the moved rule is still in its cooldown');
    h.engine.setRules([rule('rss > 500MB', { cooldownMs: 0 })]);
    assert.equal(h.ticks(1, 600 * MB).length, 1, 'a changed rule starts afresh');
  });

  describe('with a memory that outlives the engine (a watcher restart)', () => {
    const COOLDOWN_MS = 10 * 60_000;
    const rules = () => [rule('rss > 500MB', { cooldownMs: COOLDOWN_MS })];

    it('goes on cooling down, and resolves the episode it inherited instead of firing anew', () => {
      const memory = new MapMemory();
      const first = new Harness(rules(), { memory });
      assert.equal(first.ticks(1, 600 * MB).length, 1);
      memory.wallMs += 60_000;
      const second = new Harness(rules(), { memory });
      assert.equal(second.ticks(5, 600 * MB).length, 0, 'still within the cooldown');
      const resolved = second.ticks(3, 100 * MB);
      assert.deepEqual(
        resolved.map((e) => e.kind),
        ['resolved'],
        'the inherited episode ends with a resolved event',
      );
      assert.equal(memory.firings.size, 1);
      assert.equal([...memory.firings.values()][0]?.firing, false);
    });

    it('fires again once the remembered cooldown is over, even counted across the restart', () => {
      const memory = new MapMemory();
      new Harness(rules(), { memory }).ticks(1, 600 * MB);
      memory.wallMs += COOLDOWN_MS - INTERVAL_MS;
      const second = new Harness(rules(), { memory });
      assert.equal(second.ticks(1, 600 * MB).length, 0);
      const later = second.ticks(2, 600 * MB);
      assert.equal(later.filter((e) => e.kind === 'fired').length, 1, 'the rest of the cooldown only');
    });

    it('takes a changed rule for a new one, and forgets a process that is gone', () => {
      const memory = new MapMemory();
      new Harness(rules(), { memory }).ticks(1, 600 * MB);
      const changed = new Harness([rule('rss > 550MB', { cooldownMs: COOLDOWN_MS })], { memory });
      assert.equal(changed.ticks(1, 600 * MB).length, 1);
      for (let i = 0; i < 4; i++) changed.tick([]);
      assert.equal(memory.firings.size, 0, 'the process went away: nothing about it is kept');
    });
  });

  describe('group rules', () => {
    const members = (pss: number, count = 4) =>
      Array.from({ length: count }, (_, i) => processSample({ pid: 200 + i, rss: 2 * pss, pss }));
    const observe = (h: Harness, pss: number, count = 4, target = 'app') => {
      h.clock.nowMs += INTERVAL_MS;
      const list = members(pss, count);
      const total = groupTotals(list, () => [target], true)[0] ?? emptyGroupTotal(target, true);
      const events = h.engine.tick({
        system: SYSTEM,
        processes: list.map((sample) => ({ sample, targets: [target] })),
        groups: [{ target, members: list, total }],
      });
      h.events.push(...events);
      return events;
    };

    it('holds a for window for the group, then fires once for it, and resolves once', () => {
      const h = new Harness([rule('total.pss > 300MB for 30s'), rule('pss > 90MB', { id: 'app#2' })]);
      assert.deepEqual(
        observe(h, 100 * MB).map((e) => e.ruleId),
        ['app#2', 'app#2', 'app#2', 'app#2'],
      );
      assert.deepEqual(observe(h, 100 * MB), []);
      assert.deepEqual(observe(h, 100 * MB), []);
      const fired = observe(h, 100 * MB);
      assert.deepEqual(
        fired.map((e) => [e.ruleId, e.kind]),
        [['app#1', 'fired']],
      );
      assert.equal(fired[0]?.identity, undefined);
      assert.equal(fired[0]?.group?.count, 4);
      assert.equal(fired[0]?.value, 400 * MB);
      for (let i = 0; i < 10; i++) assert.deepEqual(observe(h, 100 * MB), []);
      const clear = [...observe(h, 10 * MB), ...observe(h, 10 * MB), ...observe(h, 10 * MB)];
      assert.deepEqual(
        clear.filter((e) => e.ruleId === 'app#1').map((e) => [e.kind, e.reason]),
        [['resolved', 'cleared']],
      );
    });

    it("keeps a group's cooldown across a restart, keyed by its target; an edited rule starts afresh", () => {
      const memory = new MapMemory();
      const rules = [rule('total.pss > 300MB', { cooldownMs: 600_000 })];
      const first = new Harness(rules, { memory });
      assert.equal(observe(first, 100 * MB).filter((e) => e.kind === 'fired').length, 1);
      assert.deepEqual(
        [...memory.firings.keys()].map((k) => k.split('|')[1]),
        ['target:app'],
      );
      memory.wallMs += 60_000;
      const second = new Harness(rules, { memory });
      for (let i = 0; i < 5; i++) assert.deepEqual(observe(second, 100 * MB), [], 'still cooling down');
      const edited = new Harness([rule('total.pss > 350MB', { cooldownMs: 600_000 })], { memory });
      assert.equal(observe(edited, 100 * MB).filter((e) => e.kind === 'fired').length, 1);
    });

    it('keeps a separate state per target, and resolves a group no longer watched', () => {
      const h = new Harness([rule('count > 3'), rule('count > 3', { id: 'db#1', target: 'db' })]);
      const fired = [...observe(h, MB, 5, 'app'), ...observe(h, MB, 5, 'db')];
      assert.deepEqual(
        fired.map((e) => [e.ruleId, e.target]),
        [
          ['app#1', 'app'],
          ['db#1', 'db'],
        ],
      );
      const later: RuleEvent[] = [];
      for (let i = 0; i < 4; i++) later.push(...observe(h, MB, 5, 'db'));
      assert.deepEqual(
        later.map((e) => [e.ruleId, e.kind, e.reason]),
        [['app#1', 'resolved', 'gone']],
      );
      assert.equal(h.engine.stats().ruleStates, 1);
    });
  });
});
