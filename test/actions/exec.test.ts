import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ActionRunner, runCommand } from '../../src/actions/index.js';
import { ProcReader } from '../../src/proc/index.js';
import { contextFor, sampleOf } from '../helpers/action-context.js';
import { pidOf, start, waitForExec } from '../helpers/processes.js';

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-exec-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

describe('exec actions', () => {
  it('substitutes placeholders per argument and passes the facts in the environment', async () => {
    const target = start('sleep', ['1001']);
    await waitForExec(pidOf(target), '1001');
    const runner = new ActionRunner({ identities: new ProcReader() });
    const sample = sampleOf(pidOf(target));
    const result = await runner.run(
      {
        kind: 'exec',
        argv: [
          'sh',
          '-c',
          'printf "%s|" "$@"; printf "%s" "$MEMWARDEN_PID"',
          'sh',
          '{pid}',
          '{name}',
          '{rss}',
          'x{target}y',
          '{rule}',
          '{other}',
        ],
        timeoutMs: 5000,
        maxOutputBytes: 4096,
      },
      contextFor(sample, { target: 'web', rule: 'too-big' }),
    );
    assert.equal(result.ok, true, result.message);
    assert.equal(result.exitCode, 0);
    assert.equal(
      result.output?.stdout,
      `${sample.pid}|sleep|${sample.rss}|xweby|too-big|{other}|${sample.pid}`,
    );
    assert.equal(result.output?.truncated, false);
  });

  it('never runs a shell over process strings: $(touch /tmp/pwned); stays text', async () => {
    const marker = '/tmp/pwned';
    rmSync(marker, { force: true });
    const hostile = '$(touch /tmp/pwned);';
    const target = start('sleep', ['1002'], { argv0: hostile });
    await waitForExec(pidOf(target), '1002');
    const real = sampleOf(pidOf(target));
    assert.equal(real.cmdline[0], hostile);
    // The full name as the daemon shows it comes from the command line (comm is cut at 15 bytes).
    const sample = { ...real, name: hostile };
    const runner = new ActionRunner({ identities: new ProcReader() });
    const echoed = await runner.run(
      { kind: 'exec', argv: ['echo', '{name}', '`touch /tmp/pwned`'], timeoutMs: 5000, maxOutputBytes: 4096 },
      contextFor(sample, { cycle: 1 }),
    );
    assert.equal(echoed.output?.stdout, `${hostile} \`touch /tmp/pwned\`\n`);
    // Even a template that does use a shell only ever sees the name as a positional parameter.
    const viaShell = await runner.run(
      {
        kind: 'exec',
        argv: ['sh', '-c', 'echo "$1"', 'sh', '{name}'],
        timeoutMs: 5000,
        maxOutputBytes: 4096,
      },
      contextFor(sample, { cycle: 2 }),
    );
    assert.equal(viaShell.output?.stdout, `${hostile}\n`);
    assert.equal(existsSync(marker), false, `${marker} was created`);
  });

  it('stops a command that outlives its timeout, with everything it started (scenario 25)', async () => {
    const pidFile = join(scratch, 'grandchild.pid');
    const began = Date.now();
    const outcome = await runCommand({
      argv: ['sh', '-c', `trap '' TERM; sleep 1003 & echo $! > ${pidFile}; wait`],
      env,
      timeoutMs: 100,
      maxOutputBytes: 1024,
      killGraceMs: 100,
    });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.code, 'TIMEOUT');
    assert.ok(Date.now() - began < 5000);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    // Killed, it is reparented to init, which may take a while to reap it: a zombie counts as dead.
    const stateOf = () => new ProcReader().read(grandchild)?.state;
    let state = stateOf();
    for (let i = 0; i < 100 && state !== undefined && state !== 'Z'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      state = stateOf();
    }
    assert.ok(state === undefined || state === 'Z', `the sleep the command started is still ${state}`);
  });

  it('caps captured output and still lets a chatty command finish', async () => {
    const outcome = await runCommand({
      argv: ['sh', '-c', 'head -c 5000000 /dev/zero | tr "\\0" a; echo err >&2; exit 3'],
      env,
      timeoutMs: 10_000,
      maxOutputBytes: 1000,
      killGraceMs: 100,
    });
    assert.equal(outcome.code, 'EXIT_STATUS');
    assert.equal(outcome.exitCode, 3);
    assert.equal(outcome.output.stdout, 'a'.repeat(1000));
    assert.equal(outcome.output.stderr, 'err\n');
    assert.equal(outcome.output.truncated, true);
  });

  it('runs commands as the configured user', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to run a command as another user');
      return;
    }
    const runner = new ActionRunner({ identities: new ProcReader(), execUser: { uid: 65534, gid: 65534 } });
    const target = start('sleep', ['1004']);
    await waitForExec(pidOf(target), '1004');
    const result = await runner.run(
      { kind: 'exec', argv: ['id', '-u'], timeoutMs: 5000, maxOutputBytes: 100 },
      contextFor(sampleOf(pidOf(target))),
    );
    assert.equal(result.output?.stdout, '65534\n', result.message);
  });

  it('reports a program that does not exist', async () => {
    const outcome = await runCommand({
      argv: [join(scratch, 'no-such-program')],
      env,
      timeoutMs: 1000,
      maxOutputBytes: 100,
      killGraceMs: 100,
    });
    assert.equal(outcome.code, 'SPAWN_FAILED');
    assert.match(outcome.message, /ENOENT/);
    const nul = await runCommand({
      argv: ['echo', 'a\0b'],
      env,
      timeoutMs: 1000,
      maxOutputBytes: 100,
      killGraceMs: 100,
    });
    assert.equal(nul.code, 'SPAWN_FAILED');
  });
});
