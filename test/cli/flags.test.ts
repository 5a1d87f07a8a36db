import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseListen } from '../../src/units/index.js';
import { BIN, CLI_ENV, runCli } from '../helpers/cli.js';
import { waitForExit } from '../helpers/processes.js';

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-flags-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

function assertUsage(result: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, pattern);
}

describe('flags read one way in every command', () => {
  it('watch -c FILE --interval 0s keeps the floor the config has', async () => {
    const config = join(scratch, 'interval.yaml');
    writeFileSync(config, 'store: false\ntargets:\n  - name: x\n    match: memwarden-flags-none\n');
    assertUsage(
      await runCli(['watch', '-c', config, '--interval', '0s', '--count', '1']),
      /^memwarden watch: invalid --interval '0s': must be at least 100ms/,
    );
  });

  for (const [command, args] of [
    ['watch', ['watch', '--match', 'x', '--no-store', '--count']],
    ['top', ['top', '--count']],
    ['diff', ['diff', 'a', 'b', '--limit']],
    ['history', ['history', 'x', '--max-points']],
  ] as const) {
    it(`${command}: a count that is not a whole number is one usage error`, async () => {
      assertUsage(await runCli([...args, '2.5']), /invalid --[a-z-]+ '2\.5': expected a whole number ≥ \d/);
    });
  }

  it('--gc-above 40 says a threshold needs % or a size unit', async () => {
    const result = await runCli(['watch', '--match', 'x', '--gc-above', '40', '--count', '1', '--no-store']);
    assertUsage(result, /a percentage of memory \(40%\) or a size \(40MB\)/);
  });

  it('a listen address is a port or HOST:PORT, in flags and YAML alike', () => {
    assert.deepEqual(parseListen('9464'), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(parseListen('0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListen('[::1]:9464'), { host: '::1', port: 9464 });
    assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
    assert.throws(() => parseListen('127.0.0.1:70000'), /port 0–65535/);
    assert.throws(() => parseListen('nope'), /expected a port \(9464\) or HOST:PORT/);
  });

  it('watch --listen 0 serves on a free port of 127.0.0.1, as listen: 0 does', async () => {
    const config = join(scratch, 'listen.yaml');
    writeFileSync(
      config,
      'store: false\nlisten: 0\ntargets:\n  - name: x\n    match: memwarden-flags-none\n',
    );
    for (const args of [
      ['watch', '--match', 'memwarden-flags-none', '--no-store', '--listen', '0'],
      ['watch', '-c', config],
    ]) {
      const watch = spawn(process.execPath, [BIN, ...args, '--interval', '100ms'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: CLI_ENV,
      });
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let text = '';
          watch.stderr.on('data', (c: Buffer) => {
            text += c.toString();
            const m = /dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
            if (m?.[1]) resolve(m[1]);
          });
          watch.once('exit', () => reject(new Error(`watch exited: ${text}`)));
        });
        assert.doesNotMatch(url, /:0\/$/);
        assert.equal((await fetch(`${url}metrics`)).status, 200);
      } finally {
        watch.kill('SIGTERM');
        await waitForExit(watch);
      }
    }
  });
});
