import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { pidOf, start, waitForExec, waitForLine } from '../helpers/processes.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

interface Report {
  runtime: string;
  pid: number;
  growing: { name: string; countDelta: number; sizeDelta: number; retainers: string[] }[];
}

/** `memwarden leaks PID --json`, which must succeed. */
async function hunt(pid: number, duration: string): Promise<Report> {
  const { code, stdout, stderr } = await runCli(['leaks', String(pid), '--duration', duration, '--json'], {
    timeoutMs: 120_000,
  });
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as Report;
}

const lldbMissing =
  spawnSync('lldb', ['--version'], { stdio: 'ignore' }).status === 0 ? false : 'lldb is not installed';

describe('memwarden leaks', { concurrency: 1 }, () => {
  it('names the class a Node server keeps per request, and the Map that holds it', async () => {
    // Its own inspector port: 9229 belongs to the tests that are about it.
    const server = start(process.execPath, ['--inspect-port=9342', join(FIXTURES, 'leaky-server.cjs')]);
    const port = Number((await waitForLine(server, /^port \d+$/)).split(' ')[1]);
    let driving = true;
    const traffic = (async () => {
      for (let i = 0; driving; i++) {
        await fetch(`http://127.0.0.1:${port}/r${i}`).then((r) => r.text());
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      const report = await hunt(pidOf(server), '3s');
      assert.equal(report.runtime, 'node');
      const [top] = report.growing;
      assert.equal(top?.name, 'SessionRecord', JSON.stringify(report.growing.slice(0, 3)));
      assert.ok(top.countDelta > 10);
      assert.ok(
        top.retainers.includes('Map') && top.retainers.includes('sessions'),
        top.retainers.join(' → '),
      );
      assert.equal(top.retainers.at(-1), 'SessionRecord');
    } finally {
      driving = false;
      await traffic.catch(() => undefined);
    }
  });

  it('names the class a Python process appends to a list, and the appending line', {
    skip: lldbMissing,
  }, async () => {
    const fixture = join(FIXTURES, 'leaky.py');
    const line =
      readFileSync(fixture, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('# the leaking line')) + 1;
    const target = start('python3', [fixture]);
    await waitForLine(target, /ready/);
    const report = await hunt(pidOf(target), '2s');
    assert.equal(report.runtime, 'python');
    const [top] = report.growing;
    assert.equal(top?.name, '__main__.Session', JSON.stringify(report.growing.slice(0, 3)));
    assert.ok(top.countDelta > 50);
    assert.ok(top.retainers.includes(`${fixture}:${line}`), top.retainers.join(', '));
  });

  it('refuses a duration too short to tell growth from noise, before touching the process', async () => {
    const { code, stderr } = await runCli(['leaks', String(process.pid), '--duration', '0s']);
    assert.equal(code, 2);
    assert.match(stderr, /^memwarden leaks: invalid --duration '0s': at least 2s/);
    assert.equal(stderr.trim().split('\n').length, 1);
  });

  it('refuses a process with no heap to hunt in, in one line', async () => {
    const sleeper = start('sleep', ['60']);
    await waitForExec(pidOf(sleeper), '60');
    const { code, stderr } = await runCli(['leaks', String(pidOf(sleeper)), '--duration', '2s']);
    assert.equal(code, 1);
    assert.match(stderr, /leak hunts need a Node\.js or Python heap/);
    assert.equal(stderr.trim().split('\n').length, 1);
  });
});
