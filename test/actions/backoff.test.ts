import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs } from '../../src/actions/index.js';

describe('backoffDelayMs', () => {
  it('doubles from the base and stops at the ceiling', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 10].map((attempt) => backoffDelayMs(attempt, 100, 1000)),
      [100, 200, 400, 800, 1000],
    );
  });

  it('draws a jittered delay from the upper half, so it still grows', () => {
    assert.equal(backoffDelayMs(2, 100, 10_000, 0), 200);
    assert.equal(backoffDelayMs(2, 100, 10_000, 1), 400);
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelayMs(3, 100, 10_000, Math.random());
      assert.ok(delay >= 400 && delay <= 800, String(delay));
    }
  });
});
