import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActionSpecError, parseAction, parseActions, renderExecArgv } from '../../src/rules/index.js';

function actionError(value: unknown): ActionSpecError {
  try {
    parseActions(value);
  } catch (err) {
    assert.ok(err instanceof ActionSpecError, `expected an ActionSpecError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${JSON.stringify(value)} parsed but should not have`);
}

describe('rule actions', () => {
  it('parses the plain actions, one or a list', () => {
    assert.deepEqual(parseActions(['log', 'gc', 'snapshot', 'trim']), [
      { kind: 'log' },
      { kind: 'gc' },
      { kind: 'snapshot' },
      { kind: 'trim' },
    ]);
    assert.deepEqual(parseActions('restart'), [{ kind: 'restart' }]);
  });

  it('validates signal names against the platform', () => {
    assert.deepEqual(parseAction('signal SIGUSR2'), { kind: 'signal', signal: 'SIGUSR2' });
    assert.deepEqual(parseAction('signal term'), { kind: 'signal', signal: 'SIGTERM' });
    assert.deepEqual(parseAction({ signal: 'KILL' }), { kind: 'signal', signal: 'SIGKILL' });
    assert.match(
      actionError(['signal SIGUSR3']).reason,
      /unknown signal 'SIGUSR3' \(did you mean 'SIGUSR1'\?\)/,
    );
    assert.match(actionError(['signal']).reason, /one signal name/);
  });

  it('takes exec only as an argv list, with known placeholders', () => {
    assert.deepEqual(parseAction({ exec: ['/usr/bin/notify', '--pid', '{pid}', 5], timeout: '3s' }), {
      kind: 'exec',
      argv: ['/usr/bin/notify', '--pid', '{pid}', '5'],
      timeoutMs: 3000,
    });
    assert.match(actionError(['exec kill {pid}']).reason, /argv list, never a shell string/);
    const placeholder = actionError([{ exec: ['notify', '{pdi}'] }]);
    assert.deepEqual(placeholder.path, [0, 'exec', 1]);
    assert.match(placeholder.reason, /unknown placeholder '\{pdi\}'/);
    assert.deepEqual(actionError([{ exec: ['x'], timeout: '0s' }]).path, [0, 'timeout']);
    assert.deepEqual(actionError([{ exec: [] }]).path, [0, 'exec']);
    assert.deepEqual(actionError([{ exec: ['x'], timout: '1s' }]).path, [0, 'timout']);
  });

  it('fills in exec placeholders for one process', () => {
    const argv = renderExecArgv(
      ['notify', '{name}:{pid}', 'rss={rss}', '{target}/{rule}', "awk '{{print}'"],
      {
        pid: 42,
        name: 'redis',
        rss: 1000,
        target: 'cache',
        rule: 'cache#1',
      },
    );
    assert.deepEqual(argv, ['notify', 'redis:42', 'rss=1000', 'cache/cache#1', "awk '{print}'"]);
  });

  it('accepts only http and https webhooks', () => {
    assert.deepEqual(parseAction('webhook https://hooks.example.org/x?token=1'), {
      kind: 'webhook',
      url: 'https://hooks.example.org/x?token=1',
      timeoutMs: 5000,
    });
    assert.match(actionError(['webhook ftp://example.org']).reason, /http or https, not ftp/);
    assert.match(actionError(['webhook file:///etc/passwd']).reason, /http or https/);
    assert.match(actionError(['webhook not a url']).reason, /one URL/);
  });

  it('allows one destructive action per rule', () => {
    assert.match(actionError(['signal TERM', 'restart']).reason, /at most one of signal, restart, exec/);
    assert.doesNotThrow(() => parseActions(['log', 'gc', 'restart']));
  });

  it('names unknown actions with a suggestion', () => {
    const err = actionError(['log', 'snapshto']);
    assert.deepEqual(err.path, [1]);
    assert.match(err.reason, /unknown action 'snapshto' \(did you mean 'snapshot'\?\)/);
    assert.match(actionError([]).reason, /at least one action/);
    assert.match(actionError(['gc now']).reason, /takes no argument/);
  });
});
