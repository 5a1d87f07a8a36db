import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemwardenError } from '../../src/errors.js';
import { parseCondition, RuleParseError } from '../../src/rules/index.js';

function parseError(source: string, cpuCount?: number): RuleParseError {
  try {
    parseCondition(source, cpuCount === undefined ? {} : { cpuCount });
  } catch (err) {
    assert.ok(err instanceof RuleParseError, `expected a RuleParseError, got ${String(err)}`);
    return err;
  }
  assert.fail(`'${source}' parsed but should not have`);
}

describe('rule conditions', () => {
  it('parses a size threshold held for a duration', () => {
    const condition = parseCondition('rss > 500MB for 3m');
    assert.deepEqual(condition.clauses, [
      { kind: 'compare', metric: 'rss', op: '>', threshold: 500e6, unit: 'bytes', text: 'rss > 500MB' },
    ]);
    assert.deepEqual(condition.persistence, { kind: 'for', durationMs: 180_000 });
  });

  it('parses N times within M cycles', () => {
    const condition = parseCondition('mem% > 40% 3 times within 5 cycles');
    assert.equal(condition.clauses[0]?.kind === 'compare' && condition.clauses[0].threshold, 40);
    assert.deepEqual(condition.persistence, { kind: 'count', times: 3, withinCycles: 5 });
  });

  it('parses growth as bytes per second over a window', () => {
    const [clause] = parseCondition('growth > 50MB/h over 1h').clauses;
    assert.ok(clause?.kind === 'compare');
    assert.equal(clause.unit, 'bytesPerSecond');
    assert.ok(Math.abs(clause.threshold - 50e6 / 3600) < 1e-9);
    assert.equal(clause.overMs, 3_600_000);
  });

  it('parses every metric with its own unit', () => {
    const cases: [string, number][] = [
      ['limit% > 90%', 90],
      ['cpu% > 80% for 1m', 80],
      ['threads > 500', 500],
      ['pss >= 1.5GiB', 1.5 * 1024 ** 3],
      ['vms > 4GB', 4e9],
      ['available < 1GiB', 1024 ** 3],
      ['oom_in < 2h', 7200],
      ['rss == 1KiB', 1024],
      ['rss <= 10MiB', 10 * 1024 ** 2],
    ];
    for (const [source, threshold] of cases) {
      const [clause] = parseCondition(source).clauses;
      assert.ok(clause?.kind === 'compare', source);
      assert.equal(clause.threshold, threshold, source);
    }
  });

  it('combines clauses with and, leak included', () => {
    const condition = parseCondition('leak and rss > 1GB and oom_in < 30m for 5m');
    assert.deepEqual(
      condition.clauses.map((c) => c.text),
      ['leak', 'rss > 1GB', 'oom_in < 30m'],
    );
    assert.deepEqual(condition.persistence, { kind: 'for', durationMs: 300_000 });
  });

  it('rejects a bare number for a size and names the column', () => {
    const err = parseError('rss > 500');
    assert.equal(err.column, 7);
    assert.equal(err.message, "rule 'rss > 500' at column 7: expected a size with a unit such as 500MB");
    assert.equal(err.code, 'MW_CONFIG');
    assert.ok(err instanceof MemwardenError);
  });

  it('holds each metric to its unit', () => {
    assert.match(parseError('mem% > 40').reason, /percentage such as 40%/);
    assert.match(parseError('rss > 40%').reason, /size.*mem% is a percentage/);
    assert.match(parseError('growth > 50MB').reason, /size per time such as 50MB\/h/);
    assert.match(parseError('growth > 50MB/parsec').reason, /size per time/);
    assert.match(parseError('threads > 5.5').reason, /whole number/);
    assert.match(parseError('threads > 5MB').reason, /whole number/);
    assert.match(parseError('oom_in < 2').reason, /duration such as 2h/);
    assert.equal(parseError('rss > 5 MB').column, 7);
  });

  it('points at the token that is wrong', () => {
    assert.equal(parseError('rsss > 5MB').column, 1);
    assert.match(parseError('rsss > 5MB').reason, /did you mean 'rss'/);
    assert.equal(parseError('rss 5MB').column, 5);
    assert.equal(parseError('rss = 5MB').column, 5);
    assert.equal(parseError('rss > 5MB && leak').column, 11);
    assert.equal(parseError('rss > 5MB for').column, 14);
    assert.equal(parseError('rss > 5MB for 0s').column, 15);
    assert.equal(parseError('rss > -5MB').column, 7);
    assert.equal(parseError('rss > 5MB over 1h').column, 11);
    assert.equal(parseError('').column, 1);
    assert.equal(parseError('rss > 5MB leak').column, 11);
  });

  it('wants for and times-within at the end', () => {
    const err = parseError('rss > 5MB for 3m and leak');
    assert.equal(err.column, 18);
    assert.match(err.reason, /go at the end/);
  });

  it('checks the counting window', () => {
    assert.match(parseError('mem% > 40% 6 times within 5 cycles').reason, /cannot happen within 5 cycles/);
    assert.match(parseError('mem% > 40% 0 times within 5 cycles').reason, /at least 1/);
    assert.match(parseError('mem% > 40% 3 times within 5000 cycles').reason, /at most 1000 cycles/);
    assert.equal(parseError('mem% > 40% 3 times in 5 cycles').column, 20);
  });

  it('refuses thresholds that can never be reached on this host', () => {
    assert.match(
      parseError('cpu% > 150%', 1).reason,
      /can never be reached: cpu% is at most 100% on this host \(1 CPU/,
    );
    assert.match(parseError('cpu% > 200%', 2).reason, /at most 200%/);
    assert.doesNotThrow(() => parseCondition('cpu% > 150%', { cpuCount: 2 }));
    assert.doesNotThrow(() => parseCondition('cpu% >= 200%', { cpuCount: 2 }));
    assert.match(parseError('mem% > 100%').reason, /at most 100%/);
    assert.match(parseError('limit% > 120%').reason, /at most 100%/);
  });

  it('stays linear on long hostile input', () => {
    const long = `rss > 5MB${' and rss > 5MB'.repeat(60)}`;
    assert.equal(parseCondition(long).clauses.length, 61);
    assert.match(parseError('a'.repeat(5000)).reason, /at most 1000 characters/);
    const started = performance.now();
    parseError(`${'9'.repeat(990)}x`);
    assert.ok(performance.now() - started < 100);
  });

  it('makes a rule about the group when it names a group metric', () => {
    const condition = parseCondition('total.pss > 2GB and available < 10% for 5m');
    assert.equal(condition.scope, 'group');
    assert.deepEqual(
      condition.clauses.map((c) => c.kind === 'compare' && c.metric),
      ['total.pss', 'available'],
    );
    assert.equal(parseCondition('rss > 1GB').scope, undefined);
    assert.equal(parseCondition('count > 20').scope, 'group');
    assert.equal(parseCondition('memory.current > 1GB or total.psi.full60 > 5%').scope, 'group');
  });

  it("reads plain names as the group's under scope: group", () => {
    const condition = parseCondition('pss > 2GB or limit% > 90% or cgroup.psi.some > 5%', { scope: 'group' });
    assert.deepEqual(
      condition.clauses.map((c) => c.kind === 'compare' && c.metric),
      ['total.pss', 'total.limit%', 'total.psi.some'],
    );
    assert.equal(condition.scope, 'group');
  });

  it('refuses a rule that mixes the group and each process, pointing at the process metric', () => {
    const mixed = parseError('total.pss > 2GB and cpu% > 50%');
    assert.equal(mixed.column, 21);
    assert.match(mixed.message, /'cpu%' is about each process and 'total.pss' about the whole group/);
    try {
      parseCondition('leak', { scope: 'group' });
      assert.fail('leak parsed as a group measure');
    } catch (err) {
      assert.ok(err instanceof RuleParseError);
      assert.match(err.message, /'leak' is about each process, not the group/);
    }
    assert.match(parseError('count > 2GB').message, /expected a whole number such as 20/);
  });
});
