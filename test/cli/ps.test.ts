import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { pidOf, start, waitForExec, waitForLine } from '../helpers/processes.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

describe('memwarden ps', () => {
  let crawler = 0;
  let spinner = 0;

  before(async () => {
    const py = start('python3', [join(FIXTURES, 'touna0627.py'), 'cli-ps']);
    await waitForLine(py, /ready/);
    crawler = pidOf(py);
    const spin = start(process.execPath, ['-e', 'console.log("ready"); for (;;) {}', 'memwarden-spinner']);
    await waitForLine(spin, /ready/);
    spinner = pidOf(spin);
  });

  it('prints a table of the processes a pattern matches', async () => {
    const { code, stdout, stderr } = await runCli(['ps', 'touna0627.py cli-ps']);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /PID\s+USER\s+START\s+CPU%\s+RSS\s+MEM%\s+THR\s+COMMAND/);
    assert.equal(lines.length, 2, stdout);
    assert.match(lines[1] ?? '', new RegExp(`^\\s*${crawler}\\s+root\\s.*touna0627\\.py`));
  });

  it('gives the documented JSON fields, with CPU % measured over the window', async () => {
    const { code, stdout } = await runCli([
      'ps',
      'touna0627.py cli-ps',
      'memwarden-spinner',
      '--json',
      '--sample',
      '500ms',
    ]);
    assert.equal(code, 0);
    const rows = JSON.parse(stdout) as Record<string, unknown>[];
    assert.deepEqual(
      rows.map((r) => r.pid).sort(),
      [crawler, spinner].sort(),
      JSON.stringify(rows.map((r) => [r.pid, r.ppid, r.cmdline])),
    );
    const py = rows.find((r) => r.pid === crawler) ?? {};
    for (const key of [
      'pid',
      'ppid',
      'name',
      'cmdline',
      'user',
      'state',
      'startTime',
      'rss',
      'vms',
      'memPercent',
      'cpuPercent',
      'threads',
    ]) {
      assert.ok(key in py && py[key] !== undefined, `missing ${key}`);
    }
    assert.equal(py.ppid, process.pid);
    assert.ok(Array.isArray(py.cmdline) && (py.cmdline as string[]).some((a) => a.endsWith('touna0627.py')));
    const statm = readFileSync(`/proc/${crawler}/statm`, 'latin1').split(' ');
    assert.equal(py.vms, Number(statm[0]) * 4096);
    // The interpreter may still touch a page or two; RSS agrees with statm to within a few pages.
    assert.ok(
      Math.abs((py.rss as number) - Number(statm[1]) * 4096) <= 512 * 1024,
      `rss ${py.rss} vs statm ${statm[1]}`,
    );
    const spin = rows.find((r) => r.pid === spinner) ?? {};
    // A busy loop gets what the scheduler gives it on a shared machine, but never more than the
    // one core it can use (give or take a clock tick over the window), and far more than an idle one.
    const spinning = spin.cpuPercent as number;
    assert.ok(spinning > 5 && spinning <= 105, `spinner ${spinning}%`);
    assert.ok((py.cpuPercent as number) < spinning / 5, `idle ${py.cpuPercent}% vs spinner ${spinning}%`);
    assert.equal(rows[0]?.pid, rows.reduce((a, b) => ((a.rss as number) >= (b.rss as number) ? a : b)).pid);
  });

  it('adds pss, uss and swap with --pss', async () => {
    const { stdout } = await runCli(['ps', 'touna0627.py cli-ps', '--json', '--pss']);
    const [row] = JSON.parse(stdout) as { pss: number; uss: number; swap: number; rss: number }[];
    assert.ok(row && row.pss > 0 && row.uss > 0 && row.uss <= (row.rss ?? 0) && row.swap >= 0);
    const table = await runCli(['ps', 'touna0627.py cli-ps', '--pss']);
    assert.match(table.stdout, /PSS\s+USS\s+SWAP/);
  });

  it('explains which pattern matched and which matched nothing', async () => {
    const { code, stdout, stderr } = await runCli([
      'ps',
      'touna0627.py cli-ps',
      'no-such-proc-xyz',
      '--explain',
    ]);
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`${crawler}: matched by pattern 'touna0627.py cli-ps'`));
    assert.match(stderr, /pattern 'no-such-proc-xyz' matched no process/);
  });

  it('selects by pid list and by user', async () => {
    const { stdout } = await runCli(['ps', '--pid', `${crawler},${spinner}`, '--user', 'root', '--json']);
    assert.deepEqual(
      (JSON.parse(stdout) as { pid: number }[]).map((r) => r.pid).sort(),
      [crawler, spinner].sort(),
    );
  });

  it('never lists itself or what launched it, whatever the kind of match', async () => {
    const { code, stdout, stderr } = await runCli(['ps', '--name', 'node', '--json']);
    assert.equal(code, 0, stderr);
    const rows = JSON.parse(stdout) as { pid: number; cmdline: string[] }[];
    assert.ok(
      rows.some((r) => r.pid === spinner),
      'another node process is listed',
    );
    // This test process launched it: neither it nor memwarden itself may appear.
    assert.ok(!rows.some((r) => r.pid === process.pid), stdout);
    assert.ok(!rows.some((r) => r.cmdline.includes('--name') && r.cmdline.includes('node')), stdout);
  });

  it('lists every process with --all --json', async () => {
    const sleeper = start('sleep', ['4242']);
    await waitForExec(pidOf(sleeper), '4242');
    const { code, stdout } = await runCli(['ps', '--all', '--json']);
    assert.equal(code, 0);
    const pids = new Set((JSON.parse(stdout) as { pid: number }[]).map((r) => r.pid));
    assert.ok(pids.has(pidOf(sleeper)) && pids.has(crawler) && pids.has(1));
  });

  for (const [what, args, message] of [
    ['an unknown flag', ['ps', '--bogus'], /^memwarden ps: unknown option '--bogus' \(see --help\)\n/],
    [
      'a misspelt flag',
      ['ps', '--jsno'],
      /^memwarden ps: unknown option '--jsno' \(did you mean '--json'\?\)/,
    ],
    [
      'a flag without its value',
      ['ps', '--sort'],
      /^memwarden ps: option '--sort <value>' argument missing\n/,
    ],
    ['an invalid regex', ['ps', '--regex', '(unclosed'], /invalid regex '\(unclosed'/],
    [
      'a backreference regex',
      ['ps', '--regex', '(a)\\1'],
      /backreference \\1 is not supported \(patterns run on RE2/,
    ],
    [
      'a missing pid file',
      ['ps', '--pidfile', '/nonexistent/x.pid'],
      /cannot read pid file \/nonexistent\/x\.pid: no such file/,
    ],
    ['a bad duration', ['ps', '--sample', '5'], /invalid duration '5'/],
    ['a bad pid', ['ps', '--pid', 'abc'], /'abc' is not a pid/],
    ['an unknown command', ['pss'], /unknown command 'pss' \(did you mean 'ps'\?\)/],
  ] as const) {
    it(`answers ${what} with one line and exit code 2`, async () => {
      const { code, stdout, stderr } = await runCli(args);
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr, message);
      assert.doesNotMatch(stderr, /\n\s+at /);
    });
  }
});

describe('memwarden system', () => {
  it('reports the machine as JSON in agreement with /proc/meminfo', async () => {
    const { code, stdout } = await runCli(['system', '--json']);
    assert.equal(code, 0);
    const s = JSON.parse(stdout) as Record<string, number>;
    const meminfo = readFileSync('/proc/meminfo', 'latin1');
    const total = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1]) * 1024;
    assert.equal(s.memTotal, total);
    assert.ok((s.memAvailable ?? 0) > 0 && (s.memAvailable ?? 0) <= total);
    assert.ok((s.memPercent ?? -1) >= 0 && (s.memPercent ?? 101) <= 100);
    assert.ok((s.cpuCount ?? 0) >= 1);
    assert.ok((s.cpuPercent ?? -1) >= 0 && (s.cpuPercent ?? 101) <= 100);
    for (const key of ['swapTotal', 'swapFree', 'load1', 'load5', 'load15', 'uptimeSeconds'])
      assert.ok(key in s, key);
  });

  it('prints a readable summary', async () => {
    const { stdout } = await runCli(['system']);
    assert.match(stdout, /^memory\s+.+ used of .+ \(\d+\.\d%\)$/m);
    assert.match(stdout, /^cpu\s+\d+ cores/m);
  });
});
