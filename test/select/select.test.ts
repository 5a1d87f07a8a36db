import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemwardenError } from '../../src/errors.js';
import { ProcReader } from '../../src/proc/index.js';
import { compileFilter, type ProcessFilter, selectProcesses } from '../../src/select/index.js';
import { runCli } from '../helpers/cli.js';
import { pidOf, start, waitForExec, waitForLine } from '../helpers/processes.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-select-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

function select(filter: ProcessFilter) {
  const reader = new ProcReader();
  try {
    return selectProcesses(reader.sweep(), compileFilter(filter));
  } finally {
    // Each sweep keeps three fds per process: with a thousand processes on the machine, a few
    // unclosed readers reach the open-file limit.
    reader.close();
  }
}
const pidsOf = (filter: ProcessFilter) => new Set(select(filter).records.map((r) => r.pid));

describe('selecting processes', () => {
  let crawler = 0;
  let sleeper = 0;
  let family = 0;
  let stopped = 0;

  before(async () => {
    const py = start('python3', [join(FIXTURES, 'touna0627.py'), 'select-test']);
    await waitForLine(py, /ready/);
    crawler = pidOf(py);
    sleeper = pidOf(start('sleep', ['31337']));
    await waitForExec(sleeper, '31337');
    family = pidOf(start('sh', ['-c', 'sleep 31338 & sleep 31339 & wait']));
    const toStop = start('sleep', ['31340']);
    stopped = pidOf(toStop);
    await waitForExec(stopped, '31340');
    toStop.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 100));
  });

  it('ORs patterns: either substring selects', () => {
    const pids = pidsOf({ substrings: ['touna0627.py select-test', 'sleep 31337'] });
    assert.ok(pids.has(crawler) && pids.has(sleeper));
  });

  it('ANDs kinds: a pattern and a name must both hold', () => {
    assert.ok(pidsOf({ substrings: ['touna0627.py select-test'], names: ['python3'] }).has(crawler));
    const wrong = select({ substrings: ['touna0627.py select-test'], names: ['sleep'] }).records;
    assert.deepEqual(
      wrong.map((r) => [r.pid, r.name, r.cmdline]),
      [],
    );
  });

  it('matches a regex, a glob, a name, a pid, a pid file and a user', () => {
    assert.ok(pidsOf({ regexes: ['touna\\d{4}\\.py select-test$'] }).has(crawler));
    assert.ok(pidsOf({ globs: ['*python*touna????.py select-?est'] }).has(crawler));
    assert.ok(!pidsOf({ globs: ['touna*'] }).has(crawler), 'a glob matches the whole line');
    assert.ok(pidsOf({ names: ['sleep'] }).has(sleeper));
    assert.deepEqual([...pidsOf({ pids: [sleeper] })], [sleeper]);
    const pidfile = join(scratch, 'crawler.pid');
    writeFileSync(pidfile, `${crawler}\n`);
    assert.deepEqual([...pidsOf({ pidfiles: [pidfile] })], [crawler]);
    assert.ok(pidsOf({ users: ['root'], pids: [sleeper] }).has(sleeper));
    assert.equal(pidsOf({ users: ['nobody'], pids: [sleeper] }).size, 0);
  });

  it('adds descendants with children', () => {
    const without = pidsOf({ pids: [family] });
    const withKids = select({ pids: [family], children: true });
    assert.equal(without.size, 1);
    assert.equal(withKids.records.length, 3);
    assert.ok(withKids.records.every((r) => r.pid === family || r.ppid === family));
    assert.match(withKids.reasons.get(withKids.records[1]?.pid ?? 0)?.[0] ?? '', /child of/);
  });

  it('leaves out stopped processes unless asked', () => {
    assert.equal(pidsOf({ substrings: ['sleep 31340'] }).size, 0);
    assert.ok(pidsOf({ substrings: ['sleep 31340'], includeStopped: true }).has(stopped));
  });

  it('never selects itself or its launchers through a pattern', () => {
    // This test process's own argv holds the file name, so a pattern for it would match us.
    const pids = pidsOf({ substrings: ['select.test'] });
    assert.ok(!pids.has(process.pid));
    assert.ok(!pids.has(process.ppid));
    assert.ok(pidsOf({ pids: [process.pid] }).has(process.pid), 'an explicit pid still selects');
  });

  it('never selects itself or its launchers by name, user or all either', () => {
    for (const filter of [
      { names: ['node'] },
      { users: [String(process.getuid?.() ?? 0)] },
      { all: true },
    ] satisfies ProcessFilter[]) {
      const pids = pidsOf(filter);
      assert.ok(pids.size > 0, JSON.stringify(filter));
      assert.ok(!pids.has(process.pid), JSON.stringify(filter));
      assert.ok(!pids.has(process.ppid), JSON.stringify(filter));
    }
  });

  it('explains matches and names patterns that matched nothing', () => {
    const selection = select({ substrings: ['touna0627.py select-test', 'no-such-thing-anywhere'] });
    assert.deepEqual(selection.reasons.get(crawler), ["pattern 'touna0627.py select-test'"]);
    assert.deepEqual(selection.unmatched, ["pattern 'no-such-thing-anywhere'"]);
  });

  it('refuses bad patterns and missing pid files before any sweep', () => {
    const code = (f: ProcessFilter) => {
      try {
        compileFilter(f);
      } catch (err) {
        return err instanceof MemwardenError ? err.code : 'other';
      }
      return 'none';
    };
    assert.equal(code({ regexes: ['(a'] }), 'MW_BAD_VALUE');
    // Nested repetition is harmless on a linear-time engine; backreferences and lookaround it lacks.
    assert.equal(code({ regexes: ['(a+)+$', '(\\w+\\s?)*x'] }), 'none');
    assert.equal(code({ regexes: ['(a)\\1'] }), 'MW_BAD_VALUE');
    assert.equal(code({ regexes: ['(?<!x)a'] }), 'MW_BAD_VALUE');
    assert.equal(code({ regexes: ['a'.repeat(1001)] }), 'MW_BAD_VALUE');
    assert.equal(code({ regexes: ['(foo|bar)+', 'a+b*'] }), 'none');
    assert.equal(code({ pidfiles: [join(scratch, 'missing.pid')] }), 'MW_NO_PIDFILE');
    assert.equal(code({ users: ['no-such-user-x'] }), 'MW_BAD_VALUE');
  });

  it('finds a process by its full name when the kernel cut comm to 15 bytes', async () => {
    const exe = join(scratch, 'my-very-long-daemon');
    copyFileSync('/bin/sleep', exe);
    chmodSync(exe, 0o755);
    const child = start(exe, ['31342']);
    await waitForExec(pidOf(child), '31342');
    const [record] = select({ pids: [pidOf(child)] }).records;
    assert.equal(record?.name, 'my-very-long-da');
    assert.ok(pidsOf({ names: ['my-very-long-daemon'] }).has(pidOf(child)));
    assert.ok(pidsOf({ names: ['my-very-long-da'] }).has(pidOf(child)));
  });

  it('finds a Node process by the name node and shows it as node, though Node 24+ calls its main thread MainThread or node-MainThread', async () => {
    // argv[0] names something else, so only comm can match.
    const idle = 'console.log("ready"); setInterval(() => {}, 1000)';
    const child = start(process.execPath, ['-e', idle], { argv0: 'mw-worker-31343' });
    await waitForLine(child, /ready/);
    const pid = pidOf(child);
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    assert.ok(['node', 'MainThread', 'node-MainThread'].includes(comm), comm);
    if (Number(process.versions.node.split('.')[0]) >= 24) assert.notEqual(comm, 'node');
    assert.equal(select({ pids: [pid] }).records[0]?.name, 'node');
    assert.ok(pidsOf({ names: ['node'] }).has(pid));
    assert.ok(pidsOf({ names: [comm] }).has(pid), `--name ${comm}, as the kernel shows it`);
    const { code, stdout, stderr } = await runCli(['ps', '--pid', String(pid), '--json']);
    assert.equal(code, 0, stderr);
    assert.deepEqual(
      (JSON.parse(stdout) as { name: string }[]).map((p) => p.name),
      ['node'],
    );
  });

  it('looks only at a bounded prefix of a huge command line', async () => {
    const idle = 'import time; time.sleep(31341)';
    const child = start('python3', ['-c', idle, `${'a'.repeat(40_000)}needle-beyond-the-cap`]);
    await waitForExec(pidOf(child), 'needle-beyond');
    // python3 may be a launcher script that execs the interpreter: wait for the last exec.
    let seen = false;
    for (let i = 0; i < 100 && !seen; i++) {
      seen = pidsOf({ substrings: ['time.sleep(31341)'], names: ['python3', 'python3.11'] }).has(
        pidOf(child),
      );
      if (!seen) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(seen);
    assert.equal(pidsOf({ substrings: ['needle-beyond-the-cap'] }).size, 0);
  });
});
