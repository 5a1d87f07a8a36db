import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemwardenError } from '../../src/errors.js';
import {
  formatBytes,
  formatDuration,
  parseDuration,
  parsePercent,
  parseSize,
  parseSizeOrPercent,
} from '../../src/units/index.js';

describe('units', () => {
  it('tells decimal from binary sizes', () => {
    assert.equal(parseSize('500MB'), 500_000_000);
    assert.equal(parseSize('1.5GiB'), 1_610_612_736);
    assert.equal(parseSize('512MiB'), 512 * 1024 * 1024);
    assert.equal(parseSize('10 kB'), 10_000);
  });

  it('rejects a bare number for a size', () => {
    assert.throws(
      () => parseSize('512'),
      (e: unknown) =>
        e instanceof MemwardenError && e.code === 'MW_BAD_VALUE' && /unit is required/.test(e.message),
    );
    assert.throws(() => parseSize('12 parsecs'), MemwardenError);
    assert.throws(() => parseSize('-5MB'), MemwardenError);
  });

  it('parses durations and percentages', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.throws(() => parseDuration('10'), MemwardenError);
    assert.equal(parsePercent('40%'), 40);
    assert.throws(() => parsePercent('40'), MemwardenError);
    assert.deepEqual(parseSizeOrPercent('40%'), { kind: 'percent', percent: 40 });
    assert.deepEqual(parseSizeOrPercent('500MB'), { kind: 'bytes', bytes: 500e6 });
  });

  it('formats for people', () => {
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(undefined), '-');
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(42_000), '42s');
  });
});
