import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, CLI_ENV, runCli, runCliIntoClosedPipe } from '../helpers/cli.js';
import { start, waitForLine } from '../helpers/processes.js';

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-output-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));
const store = join(scratch, 'history.db');

/** No stack trace, no "EPIPE", nothing at all about the reader going away. */
function assertQuiet(stderr: string): void {
  assert.doesNotMatch(stderr, /EPIPE|Error|at .*\.js:\d+/, stderr);
}

describe('a reader that stops reading ends the command quietly', () => {
  before(async () => {
    const target = start(process.execPath, [
      '-e',
      'console.log("ready"); setInterval(() => {}, 1000)',
      'memwarden-output-target',
    ]);
    await waitForLine(target, /ready/);
    const { code, stderr } = await runCli([
      'watch',
      '--match',
      'memwarden-output-target',
      '--interval',
      '100ms',
      '--count',
      '2',
      '--store',
      store,
    ]);
    assert.equal(code, 0, stderr);
  });

  for (const args of [
    ['ps', '--all'],
    ['ps', '--help'],
    ['--help'],
    ['ps', '--all', '--json'],
    ['history', 'memwarden-output-target', '--json', '--store', store],
  ]) {
    it(`memwarden ${args.join(' ')} exits 0 into a closed pipe`, async () => {
      const { code, stderr } = await runCliIntoClosedPipe(args);
      assertQuiet(stderr);
      assert.equal(code, 0, stderr);
    });
  }

  it('a streaming watch --json stops at its first write and still flushes its history', async () => {
    const streamed = join(scratch, 'streamed.db');
    const { code, stderr } = await runCliIntoClosedPipe([
      'watch',
      '--match',
      'memwarden-output-target',
      '--interval',
      '100ms',
      '--json',
      '--store',
      streamed,
    ]);
    assertQuiet(stderr);
    assert.equal(code, 0, stderr);
    // The history it kept is readable: the store was closed, not abandoned.
    const history = await runCli(['history', 'memwarden-output-target', '--json', '--store', streamed]);
    assert.equal(history.code, 0, history.stderr);
  });

  it('ps --all --json | head -c 100 prints 100 bytes and memwarden exits 0', async () => {
    const result = await new Promise<{ out: string; err: string; code: number | null }>((resolve) => {
      const sh = spawn(
        'bash',
        [
          '-c',
          `"${process.execPath}" "${BIN}" ps --all --json | head -c 100; echo "rc=\${PIPESTATUS[0]}" >&2`,
        ],
        { env: CLI_ENV, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      sh.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      sh.stderr.on('data', (c: Buffer) => {
        err += c.toString();
      });
      sh.on('close', (code) => resolve({ out, err, code }));
    });
    assert.equal(Buffer.byteLength(result.out), 100);
    assert.match(result.err, /rc=0\n$/, result.err);
    assertQuiet(result.err.replace(/rc=0\n$/, ''));
  });
});

describe('every output path follows one rule: its directory must exist', () => {
  const missing = join(scratch, 'no-such-dir', 'deeper');
  for (const [what, args] of [
    ['--store', ['watch', '--match', 'x', '--count', '1', '--store', join(missing, 'h.db')]],
    ['--log', ['watch', '--match', 'x', '--count', '1', '--no-store', '--log', join(missing, 'w.log')]],
    ['report -o', ['report', '--store', store, '-o', join(missing, 'r.html')]],
  ] as const) {
    it(`${what} into a missing directory is refused in one line, and nothing is created`, async () => {
      const { code, stderr } = await runCli(args);
      assert.equal(code, 2, stderr);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr, /cannot write the .* the directory .*no-such-dir\/deeper does not exist/);
      assert.equal(existsSync(join(scratch, 'no-such-dir')), false);
    });
  }
});
