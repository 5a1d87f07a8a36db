import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact } from '../src/redact.js';

describe('redact', () => {
  it('hides values of secret-looking key=value arguments', () => {
    assert.deepEqual(
      redact(['app', '--password=hunter2', 'token=abc', '-api_key=k', '--DB_PASSWD=x', '--port=80']),
      ['app', '--password=***', 'token=***', '-api_key=***', '--DB_PASSWD=***', '--port=80'],
    );
  });

  it('hides the argument after a secret-looking flag', () => {
    assert.deepEqual(redact(['app', '--token', 'abc', '--verbose', 'x']), [
      'app',
      '--token',
      '***',
      '--verbose',
      'x',
    ]);
  });

  it('hides the password in a URL and keeps the rest', () => {
    assert.deepEqual(redact(['redis://user:s3cret@127.0.0.1:6379/0', 'http://host/a:b@c']), [
      'redis://user:***@127.0.0.1:6379/0',
      'http://host/a:b@c',
    ]);
  });

  it('leaves an ordinary command line alone and does not change its input', () => {
    const argv = ['node', 'server.js', '--max-old-space-size=512'];
    assert.deepEqual(redact(argv), argv);
    assert.notEqual(redact(argv), argv);
  });
});
