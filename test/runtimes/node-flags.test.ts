import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  exposedHost,
  isLoopbackHost,
  parseInspectorFlags,
  splitNodeOptions,
} from '../../src/runtimes/node/index.js';

const S = 'setInterval(() => {}, 1000)';

/**
 * [argv after the executable, NODE_OPTIONS, the address Node binds when SIGUSR1 opens the
 * inspector, the first host that is not loopback]. The bound addresses were checked against
 * Node 20 itself: each form was started, sent SIGUSR1, and its listener read from `ss -ltn`.
 */
const CASES: [string[], string, string, string | undefined][] = [
  [['-e', S], '', '127.0.0.1:9229', undefined],
  [['--inspect-port=0.0.0.0', '-e', S], '', '0.0.0.0:9229', '0.0.0.0'],
  [['--inspect-port', '0.0.0.0', '-e', S], '', '0.0.0.0:9229', '0.0.0.0'],
  [['--inspect_port=0.0.0.0', '-e', S], '', '0.0.0.0:9229', '0.0.0.0'],
  [['--debug-port=0.0.0.0:9501', '-e', S], '', '0.0.0.0:9501', '0.0.0.0'],
  [['--debug_port', '0.0.0.0:9502', '-e', S], '', '0.0.0.0:9502', '0.0.0.0'],
  [['-e', S, '--inspect-port=0.0.0.0:9503'], '', '0.0.0.0:9503', '0.0.0.0'],
  [['-r', '/dev/null', '--inspect-port=0.0.0.0:9509', '-e', S], '', '0.0.0.0:9509', '0.0.0.0'],
  [['--inspect-port=[::]:9504', '-e', S], '', ':::9504', '::'],
  [['--inspect-port=[::]', '-e', S], '', ':::9229', '::'],
  [['--inspect-port=0.0.0.0', '--inspect-port=9505', '-e', S], '', '0.0.0.0:9505', '0.0.0.0'],
  [['--inspect-port=9506', '--inspect-port=127.0.0.1', '-e', S], '', '127.0.0.1:9229', undefined],
  [['--inspect=0.0.0.0:9508', '-e', S], '', '0.0.0.0:9508', '0.0.0.0'],
  [['--inspect-brk=10.1.2.3:9510', 'app.js'], '', '10.1.2.3:9510', '10.1.2.3'],
  [['--inspect-wait=[::1]:9511', 'app.js'], '', '::1:9511', undefined],
  [['--inspect-brk-node=0.0.0.0:9517', 'app.js'], '', '0.0.0.0:9517', '0.0.0.0'],
  [['--inspect=localhost:9512', 'app.js'], '', 'localhost:9512', undefined],
  [['--inspect-port=9513', 'app.js'], '', '127.0.0.1:9513', undefined],
  [['--inspect-port=127.0.0.2:0', 'app.js'], '', '127.0.0.2:0', undefined],
  // A name, even one that starts like a loopback address, resolves to what its owner wants.
  [
    ['--inspect-port=127.0.0.1.example.com', 'app.js'],
    '',
    '127.0.0.1.example.com:9229',
    '127.0.0.1.example.com',
  ],
  // NODE_OPTIONS first, then argv; each named part replaces its own.
  [['-e', S], '--inspect-port=0.0.0.0', '0.0.0.0:9229', '0.0.0.0'],
  [['-e', S], '"--inspect-port=0.0.0.0:9510"', '0.0.0.0:9510', '0.0.0.0'],
  [['-e', S], '--inspect-port="0.0.0.0:9511"', '0.0.0.0:9511', '0.0.0.0'],
  [['-e', S], '--inspect-port "0.0.0.0:9512"', '0.0.0.0:9512', '0.0.0.0'],
  [['--inspect-port=9514', '-e', S], '--inspect-port=0.0.0.0:9513', '0.0.0.0:9514', '0.0.0.0'],
  [['--inspect-port=0.0.0.0', '-e', S], '--inspect-port=9515', '0.0.0.0:9229', '0.0.0.0'],
  [['-e', S], '--require ./a.js --inspect-port=9516', '127.0.0.1:9516', undefined],
  // The program's own arguments cannot be told from Node's: a host there refuses too.
  [['app.js', '--inspect=0.0.0.0:9300'], '', '127.0.0.1:9229', '0.0.0.0'],
  [['app.js', '--inspect-publish-uid=http'], '', '127.0.0.1:9229', undefined],
];

function shown(address: { host: string; port: number }): string {
  return `${address.host === '' ? '127.0.0.1' : address.host}:${address.port}`;
}

describe('inspector flags', () => {
  for (const [argv, nodeOptions, bound, exposed] of CASES) {
    it(`${nodeOptions ? `NODE_OPTIONS=${nodeOptions} ` : ''}node ${argv.join(' ')}`, () => {
      const flags = parseInspectorFlags(['node', ...argv], nodeOptions);
      assert.equal(shown(flags.address), bound);
      assert.equal(exposedHost(flags), exposed);
    });
  }

  it('reads --disable-sigusr1 among Node options only', () => {
    assert.equal(parseInspectorFlags(['node', '--disable-sigusr1', 'app.js']).sigusr1Disabled, true);
    assert.equal(parseInspectorFlags(['node', 'app.js'], '--disable-sigusr1').sigusr1Disabled, true);
    assert.equal(parseInspectorFlags(['node', 'app.js', '--disable-sigusr1']).sigusr1Disabled, false);
  });

  it('splits NODE_OPTIONS as Node does, quotes and escapes included', () => {
    assert.deepEqual(splitNodeOptions('  --a  "--b=c d" --e="f\\"g" '), ['--a', '--b=c d', '--e=f"g']);
    assert.deepEqual(splitNodeOptions('""'), ['']);
  });

  it('calls loopback only loopback literals and localhost', () => {
    for (const host of [
      '',
      'localhost',
      '127.0.0.1',
      '127.9.9.9',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ]) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    for (const host of ['0.0.0.0', '::', '0', '10.0.0.1', '::ffff:10.0.0.1', '127.1', 'example.com', ':']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});
