import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ErrorCode, exitCodeOf, MemwardenError } from '../src/errors.js';

describe('MemwardenError', () => {
  it('maps usage and config codes to exit 2 and every other code to 1', () => {
    const usage: ErrorCode[] = ['MW_USAGE', 'MW_CONFIG', 'MW_BAD_VALUE', 'MW_NO_PIDFILE'];
    const failure: ErrorCode[] = [
      'MW_NO_PROCESS',
      'MW_PID_REUSED',
      'MW_PROTECTED',
      'MW_PERMISSION',
      'MW_UNSUPPORTED',
      'MW_TIMEOUT',
      'MW_INPUT',
      'MW_FAILED',
    ];
    for (const code of usage) assert.equal(new MemwardenError(code, 'x').exitCode, 2, code);
    for (const code of failure) assert.equal(exitCodeOf(code), 1, code);
  });

  it('keeps the error it explains as its cause', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9229'), { code: 'ECONNREFUSED' });
    const err = new MemwardenError('MW_FAILED', 'cannot connect to the inspector', { cause });
    assert.equal(err.cause, cause);
    assert.equal(new MemwardenError('MW_FAILED', 'no cause').cause, undefined);
  });
});
