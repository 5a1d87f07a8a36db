import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePressure } from '../../src/proc/index.js';
import {
  compileRule,
  conditionTruth,
  parseCondition,
  RuleEngine,
  RuleParseError,
} from '../../src/rules/index.js';
import { processSample, SYSTEM } from '../helpers/samples.js';

describe('rule conditions: or, available %, pressure, oom_killed', () => {
  it("binds 'and' tighter than 'or'", () => {
    const c = parseCondition('available < 5% and psi.full > 10% or psi.some60 > 50%');
    assert.deepEqual(c.or, [2]);
    assert.deepEqual(
      c.clauses.map((x) => (x.kind === 'compare' ? [x.metric, x.unit, x.threshold] : x.kind)),
      [
        ['available', 'percent', 5],
        ['psi.full', 'percent', 10],
        ['psi.some60', 'percent', 50],
      ],
    );
    assert.equal(conditionTruth(c, [3, 20, 0]), 'true');
    assert.equal(conditionTruth(c, [3, 5, 0]), 'false');
    assert.equal(conditionTruth(c, [30, 20, 60]), 'true');
    assert.equal(conditionTruth(c, [3, undefined, 0]), 'unknown');
    assert.equal(conditionTruth(c, [30, undefined, 0]), 'false');
  });

  it('keeps available a size when written as one', () => {
    const c = parseCondition('available < 1GiB');
    assert.equal(c.clauses[0]?.kind === 'compare' && c.clauses[0].unit, 'bytes');
  });

  it('points at an unknown pressure window and at a percentage over 100', () => {
    assert.throws(
      () => parseCondition('psi.full30 > 10%'),
      (err) => err instanceof RuleParseError && err.column === 1,
    );
    assert.throws(() => parseCondition('psi.full > 150%'), /can never be reached/);
  });

  it('reads psi metrics from the machine and from the process cgroup', () => {
    const machine = parsePressure(
      'some avg10=12.50 avg60=3.00 avg300=1.00 total=100\nfull avg10=8.00 avg60=2.00 avg300=0.50 total=50\n',
    );
    const cgroup = parsePressure(
      'some avg10=60.00 avg60=40.00 avg300=5.00 total=9\nfull avg10=30.00 avg60=0.00 avg300=0.00 total=3\n',
    );
    assert.ok(machine && cgroup);
    const rules = [
      compileRule({ id: 'p#1', target: 'p', when: 'psi.full > 5% and available < 50%', do: ['log'] }),
      compileRule({ id: 'p#2', target: 'p', when: 'cgroup.psi.some60 > 30%', do: ['log'] }),
      compileRule({ id: 'p#3', target: 'p', when: 'psi.some300 > 2%', do: ['log'] }),
    ];
    const engine = new RuleEngine(rules, { clock: () => 0, intervalMs: 1000 });
    const system = { ...SYSTEM, pressure: machine, memTotal: 100, memAvailable: 40 };
    const sample = { ...processSample({ pid: 4000, startTicks: 7 }), cgroupPressure: cgroup };
    const events = engine.tick({ system, processes: [{ sample, targets: ['p'] }] });
    assert.deepEqual(
      events.map((e) => e.ruleId),
      ['p#1', 'p#2'],
    );
  });

  it('fires oom_killed only for the observation of a kill', () => {
    const rules = [
      compileRule({ id: 'k#1', target: 'k', when: 'oom_killed', do: ['log'] }),
      compileRule({ id: 'k#2', target: 'k', when: 'rss > 1KB', do: ['log'] }),
    ];
    const engine = new RuleEngine(rules, { clock: () => 0, intervalMs: 1000 });
    const system = SYSTEM;
    const sample = processSample({ pid: 4001, startTicks: 9, rss: 10_000 });
    const live = engine.tick({ system, processes: [{ sample, targets: ['k'] }] });
    assert.deepEqual(
      live.map((e) => e.ruleId),
      ['k#2'],
    );
    const killed = engine.tick({ system, processes: [{ sample, targets: ['k'], oomKilled: true }] });
    assert.deepEqual(
      killed.map((e) => [e.ruleId, e.kind, e.metric]),
      [['k#1', 'fired', 'oom_killed']],
    );
  });
});
