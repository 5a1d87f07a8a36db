import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, CLI_ENV, jsonRecords, runCli } from '../helpers/cli.js';
import { pidOf, start, waitForExit, waitForLine, waitUntil } from '../helpers/processes.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-watch-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

/** The lines a running process has finished writing: its last one may be half there. */
function wholeLines(out: string): string {
  return out.slice(0, out.lastIndexOf('\n') + 1);
}

describe('memwarden watch', () => {
  let crawler = 0;
  before(async () => {
    const py = start('python3', [join(FIXTURES, 'touna0627.py'), 'watch-test']);
    await waitForLine(py, /ready/);
    crawler = pidOf(py);
  });

  it('leaves out the empty arguments a process that rewrote its argv leaves at the end', async () => {
    const blank = start(process.execPath, [
      '-e',
      'console.log("ready"); setInterval(() => {}, 1000)',
      'memwarden-blanked-argv',
      ...Array<string>(28).fill(''),
    ]);
    await waitForLine(blank, /ready/);
    const { code, stdout, stderr } = await runCli([
      'watch',
      '--match',
      'memwarden-blanked-argv',
      '--interval',
      '100ms',
      '--count',
      '1',
      '--json',
      '--no-store',
    ]);
    assert.equal(code, 0, stderr);
    const [record] = jsonRecords<{ cmdline: string[] }>(stdout, 'process');
    assert.equal(record?.cmdline.at(-1), 'memwarden-blanked-argv', stdout);
    const ps = await runCli(['ps', 'memwarden-blanked-argv', '--json']);
    assert.equal(
      (JSON.parse(ps.stdout) as { cmdline: string[] }[])[0]?.cmdline.at(-1),
      'memwarden-blanked-argv',
    );
    blank.kill('SIGKILL');
  });

  it('logs every cycle in quick mode: each process and the machine', async () => {
    const log = join(scratch, 'quick.log');
    const { code, stdout, stderr } = await runCli([
      'watch',
      '--match',
      'touna0627.py watch-test',
      '--match',
      'no-such-proc-zz',
      '--interval',
      '200ms',
      '--count',
      '3',
      '--log',
      log,
    ]);
    assert.equal(code, 0, stderr);
    assert.equal((stdout.match(/ machine {2}mem /g) ?? []).length, 3);
    assert.match(
      stdout,
      new RegExp(
        `touna0627\\.py watch-test  pid ${crawler}  cpu .*  mem \\d+\\.\\d% \\(.+\\)  started .*touna0627\\.py`,
      ),
    );
    assert.match(stdout, /no-such-proc-zz {2}no process matches/);
    const records = jsonRecords(readFileSync(log, 'utf8'));
    const processes = records.filter((r) => r.kind === 'process');
    assert.equal(processes.length, 3);
    for (const p of processes) {
      assert.equal(p.pid, crawler);
      assert.ok(Array.isArray(p.cmdline));
      for (const key of ['cpuPercent', 'memPercent', 'rss', 'startTime']) assert.ok(key in p, key);
    }
    const systems = records.filter((r) => r.kind === 'system');
    assert.equal(systems.length, 3);
    for (const key of ['memTotal', 'memAvailable', 'memPercent', 'cpuCount'])
      assert.ok(key in (systems[0] ?? {}), key);
  });

  it('streams JSON lines with --json', async () => {
    const { code, stdout } = await runCli([
      'watch',
      '--match',
      'touna0627.py watch-test',
      '--interval',
      '100ms',
      '--count',
      '2',
      '--json',
    ]);
    assert.equal(code, 0);
    const records = jsonRecords(stdout);
    assert.deepEqual(
      records.map((r) => r.kind),
      ['system', 'process', 'system', 'process'],
    );
  });

  it('fires a rule once when a target crosses its threshold, not every cycle', async () => {
    const grower = start(process.execPath, [join(FIXTURES, 'grow.js')], { stdio: ['pipe', 'pipe', 'pipe'] });
    await waitForLine(grower, /ready/);
    const config = join(scratch, 'fire.yaml');
    writeFileSync(
      config,
      `interval: 100ms\nstore: false\ntargets:\n  - name: grower\n    match: { pid: ${pidOf(grower)} }\n    rules:\n      - when: rss > 150MB\n        do: [log]\n`,
    );
    const watcher = spawn(process.execPath, [BIN, 'watch', '-c', config, '--json', '--count', '30'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    watcher.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    // The target is first seen below the threshold, then crosses it.
    await waitForLine(watcher, /"kind":"process"/);
    grower.stdin?.write('grow:200\n');
    await waitForExit(watcher);
    const fired = jsonRecords(out).filter((r) => r.kind === 'rule-fired');
    assert.equal(fired.length, 1, out.slice(-2000));
    assert.equal(fired[0]?.pid, pidOf(grower));
  });

  it('does not fire a "for" rule on a spike', async () => {
    const grower = start(process.execPath, [join(FIXTURES, 'grow.js')], { stdio: ['pipe', 'pipe', 'pipe'] });
    await waitForLine(grower, /ready/);
    const config = join(scratch, 'spike.yaml');
    writeFileSync(
      config,
      `interval: 100ms\nstore: false\ntargets:\n  - name: grower\n    match: { pid: ${pidOf(grower)} }\n    rules:\n      - when: rss > 150MB for 3m\n        do: [log]\n`,
    );
    const watcher = spawn(process.execPath, [BIN, 'watch', '-c', config, '--json', '--count', '25'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    watcher.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    await waitForLine(watcher, /"kind":"process"/);
    grower.stdin?.write('grow:200\n');
    await waitForLine(grower, /ok/);
    // The spike lasts until a cycle has seen it, far less than the rule's 3 minutes.
    await waitUntil('a cycle sees the spike', () =>
      jsonRecords(wholeLines(out)).some((r) => r.kind === 'process' && (r.rss as number) > 150e6),
    );
    grower.stdin?.write('shrink\n');
    await waitForExit(watcher);
    const rss = jsonRecords(out)
      .filter((r) => r.kind === 'process')
      .map((r) => r.rss as number);
    assert.ok(Math.max(...rss) > 150e6, 'the spike was seen');
    assert.equal(jsonRecords(out).filter((r) => r.kind === 'rule-fired').length, 0);
  });

  it('keeps the old config when a SIGHUP brings a bad one, and exits cleanly on SIGTERM (scenario 2)', async () => {
    const config = join(scratch, 'reload.yaml');
    writeFileSync(
      config,
      'interval: 100ms\nstore: false\ntargets:\n  - name: crawler\n    match: "touna0627.py watch-test"\n',
    );
    const watcher = spawn(process.execPath, [BIN, 'watch', '-c', config, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    watcher.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    watcher.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    await waitForLine(watcher, /"kind":"process"/);
    writeFileSync(config, 'interval: 0\ntreshold: 5\ntargets: []\n');
    watcher.kill('SIGHUP');
    await waitUntil('the reload is refused', () => /reload of .*failed/.test(err));
    const samples = () => jsonRecords(wholeLines(out)).filter((r) => r.kind === 'process').length;
    const before = samples();
    await waitUntil('a cycle after the refused reload', () => samples() > before);
    watcher.kill('SIGTERM');
    const code = await waitForExit(watcher);
    assert.equal(code, 0);
    assert.match(err, /reload of .*reload\.yaml failed; the previous config stays in force/);
    assert.match(err, /reload\.yaml:1:11: interval: /);
    assert.match(err, /unknown key 'treshold'/);
    assert.ok(
      jsonRecords(out).filter((r) => r.kind === 'process').length > before,
      'still watching the old targets',
    );
  });

  it('refuses a log path that is a symbolic link (scenario 39)', async () => {
    const target = join(scratch, 'victim.txt');
    writeFileSync(target, 'keep me\n');
    const link = join(scratch, 'link.log');
    symlinkSync(target, link);
    const { code, stderr } = await runCli(['watch', '--match', 'x', '--count', '1', '--log', link]);
    assert.equal(code, 2);
    assert.match(stderr, /cannot open log file .*link\.log: it is a symbolic link/);
    assert.equal(readFileSync(target, 'utf8'), 'keep me\n');
  });

  it('answers bad usage with one line and exit code 2', async () => {
    for (const args of [
      ['watch'],
      ['watch', '--match', 'x', '--interval', '10'],
      ['watch', '--match', 'x', '--count', '0'],
      ['watch', '--match', 'x', '--gc-above', '40'],
    ]) {
      const { code, stderr } = await runCli(args);
      assert.equal(code, 2, args.join(' '));
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
    }
  });
});

describe('memwarden check', () => {
  it('prints what each target matches now', async () => {
    const py = start('python3', [join(FIXTURES, 'touna0627.py'), 'watch-test']);
    await waitForLine(py, /ready/);
    const config = join(scratch, 'check.yaml');
    writeFileSync(
      config,
      'targets:\n  - name: crawler\n    match: { pattern: "touna0627.py watch-test" }\n    rules:\n      - when: rss > 500MB for 3m\n        do: [log]\n',
    );
    const { code, stdout } = await runCli(['check', '-c', config]);
    assert.equal(code, 0);
    assert.match(stdout, /valid, 1 target, 1 rule\n/);
    // Other suites may run the same fixture: the count varies, its noun follows it.
    const [, count, noun] = /^crawler: (\d+) (\w+), 1 rule$/m.exec(stdout) ?? [];
    assert.equal(noun, count === '1' ? 'process' : 'processes', stdout);
    assert.match(stdout, new RegExp(`^  ${pidOf(py)}  .*touna0627\\.py watch-test$`, 'm'));
  });

  it('says at load time when Python and native actions cannot run here (scenarios 15, 20)', async () => {
    const config = join(scratch, 'preflight.yaml');
    writeFileSync(
      config,
      'targets:\n  - name: py\n    match: x\n    rules:\n      - when: rss > 1GB\n        do: [gc]\n',
    );
    const without = await runCli(['check', '-c', config], { env: { ...CLI_ENV, PATH: '/nonexistent' } });
    assert.equal(without.code, 0);
    assert.match(
      without.stderr,
      /rules py#1: lldb is not installed, so gc\/snapshot reach Python processes only through/,
    );
    const withLldb = await runCli(['check', '-c', config]);
    assert.equal(withLldb.code, 0);
    assert.doesNotMatch(withLldb.stderr, /lldb is not installed/);
  });

  it('warns at load time about a target that acts on processes matched by name alone (scenario 40c)', async () => {
    const config = join(scratch, 'impostor.yaml');
    writeFileSync(
      config,
      'targets:\n  - name: web\n    match: { name: nginx }\n    rules:\n      - when: rss > 1GB\n        do: [signal SIGTERM]\n  - name: safe\n    match: { name: nginx, user: root }\n    rules:\n      - when: rss > 1GB\n        do: [signal SIGTERM]\n',
    );
    const { code, stderr } = await runCli(['check', '-c', config]);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /target web acts on processes matched by name alone/);
    assert.doesNotMatch(stderr, /target safe/);
  });

  it('warns at load time when probe_users will refuse a rule, or lends root to everyone (scenario 40a)', async () => {
    const write = (name: string, text: string) => {
      const path = join(scratch, name);
      writeFileSync(path, text);
      return path;
    };
    const rules = '    rules:\n      - when: rss > 1GB\n        do: [gc]\n';
    // memwarden runs as root here: without probe_users, no process is opened up.
    const unset = await runCli([
      'check',
      '-c',
      write('probe-unset.yaml', `targets:\n  - name: app\n    match: x\n${rules}`),
    ]);
    assert.equal(unset.code, 0, unset.stderr);
    assert.match(
      unset.stderr,
      /rules app#1: gc\/snapshot\/trim will be refused for every process: memwarden runs as root and probe_users is not set/,
    );
    const outside = await runCli([
      'check',
      '-c',
      write(
        'probe-outside.yaml',
        `probe_users: [nobody]\ntargets:\n  - name: app\n    match: { pattern: x, user: root }\n${rules}`,
      ),
    ]);
    assert.match(
      outside.stderr,
      /target app: rules app#1 ask for gc\/snapshot\/trim on processes of root, which will be refused: probe_users allows uids 65534/,
    );
    assert.doesNotMatch(outside.stderr, /probe_users lists root/);
    const root = await runCli([
      'check',
      '-c',
      write(
        'probe-root.yaml',
        `probe_users: [root]\ntargets:\n  - name: app\n    match: { pattern: x, user: root }\n${rules}`,
      ),
    ]);
    assert.match(
      root.stderr,
      /probe_users lists root: while memwarden holds a root Node process's inspector open, any local user/,
    );
    assert.doesNotMatch(root.stderr, /will be refused/);
  });

  it('names file, line and column of every error and exits 2 (scenario 1)', async () => {
    const config = join(scratch, 'bad.yaml');
    writeFileSync(
      config,
      'interval: 10\ntargets:\n  - name: a\n    match: x\n    rules:\n      - when: rss > 500\n        do: [log]\n',
    );
    const { code, stdout, stderr } = await runCli(['check', '-c', config]);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /bad\.yaml:1:11: interval: /);
    assert.match(stderr, /bad\.yaml:6:\d+: .*rules\[0\]\.when: .*column 7/);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
});
