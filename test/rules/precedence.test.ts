import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRule, findOverlaps, RuleEngine } from '../../src/rules/index.js';
import { processSample, SYSTEM } from '../helpers/samples.js';

const SAMPLE = processSample({
  pid: 4242,
  name: 'api',
  cmdline: ['node', 'api.js'],
  startTicks: 777,
  threads: 12,
  rss: 900e6,
  memPercent: 60,
});

describe('overlapping rules', () => {
  const restart = compileRule({
    id: 'api#1',
    target: 'api',
    when: 'rss > 500MB',
    do: ['log', 'restart', 'gc'],
  });
  const kill = compileRule({
    id: 'api#2',
    target: 'api',
    when: 'mem% > 40%',
    do: ['signal KILL', 'gc', 'log'],
  });

  it('gives a process at most one destructive action per cycle: the first rule in file order', () => {
    let nowMs = 0;
    const engine = new RuleEngine([restart, kill], { clock: () => nowMs, intervalMs: 1000 });
    nowMs += 1000;
    const events = engine.tick({ system: SYSTEM, processes: [{ sample: SAMPLE, targets: ['api'] }] });
    assert.deepEqual(
      events.map((e) => [e.ruleId, e.actions.map((a) => a.kind)]),
      [
        ['api#1', ['log', 'restart', 'gc']],
        ['api#2', ['log']],
      ],
    );
    assert.deepEqual(events[1]?.suppressed, [
      { action: { kind: 'signal', signal: 'SIGKILL' }, byRuleId: 'api#1' },
      { action: { kind: 'gc' }, byRuleId: 'api#1' },
    ]);
  });

  it('applies the precedence across targets that share a process', () => {
    const other = compileRule({ id: 'node#1', target: 'node', when: 'rss > 100MB', do: ['signal TERM'] });
    let nowMs = 0;
    const engine = new RuleEngine([other, restart], { clock: () => nowMs, intervalMs: 1000 });
    nowMs += 1000;
    const events = engine.tick({ system: SYSTEM, processes: [{ sample: SAMPLE, targets: ['api', 'node'] }] });
    assert.deepEqual(
      events.map((e) => [e.ruleId, e.actions.map((a) => a.kind)]),
      [
        ['node#1', ['signal']],
        ['api#1', ['log', 'gc']],
      ],
    );
  });

  it('lists the overlaps at load time', () => {
    const [overlap, ...rest] = findOverlaps([restart, kill]);
    assert.equal(rest.length, 0);
    assert.equal(overlap?.first, 'api#1');
    assert.equal(overlap?.second, 'api#2');
    assert.equal(overlap?.sameTarget, true);
    assert.match(
      overlap?.message ?? '',
      /api#1 \(restart\) and api#2 \(signal SIGKILL\).*api#1 comes first in the file and wins/,
    );
  });

  it('leaves out targets that cannot share a process', () => {
    const db = compileRule({ id: 'db#1', target: 'db', when: 'rss > 5GB', do: ['restart'] });
    const filters = new Map([
      ['api', { names: ['node'] }],
      ['db', { names: ['postgres'] }],
    ]);
    assert.equal(findOverlaps([restart, db], filters).length, 0);
    assert.equal(findOverlaps([restart, db]).length, 1);
    assert.equal(
      findOverlaps(
        [restart, db],
        new Map([
          ['api', { substrings: ['x'] }],
          ['db', { substrings: ['y'] }],
        ]),
      ).length,
      1,
    );
  });
});
