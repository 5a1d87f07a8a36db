import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catastrophicBacktracking } from '../../src/select/regex-safety.js';

describe('regex safety', () => {
  it('rejects nested repetition and overlapping alternatives under repetition', () => {
    for (const pattern of [
      '(a+)+$',
      '(a*)*b',
      '(\\w+\\s?)+$',
      '(x+x+)+y',
      '^(([a-z])+.)+[A-Z]([a-z])+$',
      '(?:a+){11,}',
      '(?<word>\\d+)*x',
      '(a|aa)+$',
      '(a|a)*',
      '(ab|abc)*d',
    ]) {
      assert.notEqual(catastrophicBacktracking(pattern), undefined, pattern);
    }
  });

  it('accepts the patterns people write to match processes', () => {
    for (const pattern of [
      'redis-server',
      '^worker-\\d+$',
      '(foo|bar)+',
      '(?:a|b)*c',
      '(\\d{1,3}\\.){3}\\d{1,3}',
      '[(a+)+]*',
      '\\(a+\\)+',
      'python3? .*crawler\\.py',
      '(a+){2}',
    ]) {
      assert.equal(catastrophicBacktracking(pattern), undefined, pattern);
    }
  });

  it('refuses an overlong pattern', () => {
    assert.match(catastrophicBacktracking('a'.repeat(2000)) ?? '', /at most 1000 characters/);
  });
});
