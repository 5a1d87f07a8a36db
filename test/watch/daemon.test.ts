import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listenersOf } from '../../src/proc/index.js';
import { keepsCooldownAcrossKill } from '../helpers/chains.js';
import { BIN, CLI_ENV, jsonRecords, runCli } from '../helpers/cli.js';
import {
  isAlive,
  pidOf,
  start,
  waitForExec,
  waitForExit,
  waitForLine,
  waitForLines,
  waitUntil,
} from '../helpers/processes.js';
import { readRows } from '../helpers/sqlite.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

function supervisorRow(path: string, name: string) {
  return readRows<{ restart_times: string; gave_up: number }>(
    path,
    'SELECT restart_times, gave_up FROM supervisors WHERE name = ?',
    name,
  )[0];
}

/** Pids whose command line contains `needle`, from /proc. */
function pidsRunning(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').includes(needle))
        pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-daemon-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

describe('the watch daemon with its history, actions and supervised targets', () => {
  it('keeps every cycle in the history file, readable with memwarden history', async () => {
    const py = start('python3', [join(FIXTURES, 'touna0627.py'), 'daemon-history']);
    await waitForLine(py, /ready/);
    const store = join(scratch, 'history.db');
    const watch = await runCli([
      'watch',
      '--match',
      'touna0627.py daemon-history',
      '--interval',
      '100ms',
      '--count',
      '5',
      '--store',
      store,
    ]);
    assert.equal(watch.code, 0, watch.stderr);
    const history = await runCli(['history', String(pidOf(py)), '--since', '1h', '--store', store, '--json']);
    assert.equal(history.code, 0, history.stderr);
    const rows = JSON.parse(history.stdout) as { pid: number; rss: number; target: string }[];
    assert.equal(rows.length, 5);
    assert.ok(
      rows.every((r) => r.pid === pidOf(py) && r.rss > 0 && r.target === 'touna0627.py daemon-history'),
    );
  });

  it('judges a leak from the history file, so a restarted watcher need not start over', async () => {
    const leaker = start(process.execPath, [
      '-e',
      // Memory in step with the wall clock (20 MB/s), so a busy machine that delays its timers
      // does not bend the line.
      'const kept = []; const t0 = Date.now(); let held = 0;' +
        'setInterval(() => { while (held < (Date.now() - t0) * 20_000) { kept.push(Buffer.alloc(1 << 20, 1)); held += 1 << 20; } }, 20);' +
        'console.log("ready")',
      'memwarden-seeded-leak',
    ]);
    await waitForLine(leaker, /ready/);
    const store = join(scratch, 'seeded.db');
    const first = await runCli([
      'watch',
      '--match',
      'memwarden-seeded-leak',
      '--interval',
      '100ms',
      '--count',
      '40',
      '--store',
      store,
    ]);
    assert.equal(first.code, 0, first.stderr);
    const config = join(scratch, 'seeded.yaml');
    writeFileSync(
      config,
      `interval: 100ms\nstore: ${store}\ntargets:\n  - name: "memwarden-seeded-leak"\n    match: memwarden-seeded-leak\n    rules:\n      - when: leak\n        do: [log]\n`,
    );
    // Three cycles of its own; the verdict is made on the 40 before them too. Seconds of a leak
    // are not minutes of evidence, so the verdict is still insufficient and says what it needs.
    const second = await runCli(['watch', '-c', config, '--count', '3', '--json']);
    assert.equal(second.code, 0, second.stderr);
    const lines = jsonRecords<{ pid: number; trend?: { verdict: string; points: number; reason: string } }>(
      second.stdout,
      'process',
    ).filter((r) => r.pid === pidOf(leaker));
    const trend = lines[lines.length - 1]?.trend;
    assert.ok(trend && trend.points >= 40, second.stdout);
    assert.equal(trend.verdict, 'insufficient', trend.reason);
    assert.match(trend.reason, /needs ~\d+ more minute/);
    assert.equal(jsonRecords(second.stdout, 'rule-fired').length, 0, second.stdout);
  });

  it('runs an exec action with the process filled in, never through a shell', async () => {
    const py = start('python3', [
      join(FIXTURES, 'touna0627.py'),
      'daemon-exec',
      '$(touch /tmp/memwarden-pwned);',
    ]);
    await waitForLine(py, /ready/);
    const out = join(scratch, 'exec-out.txt');
    const config = join(scratch, 'exec.yaml');
    writeFileSync(
      config,
      `interval: 100ms\nstore: false\ntargets:\n  - name: crawler\n    match: daemon-exec\n    rules:\n      - when: rss > 1MB\n        do:\n          - exec: [sh, -c, 'echo "$1 $2" > ${out}', sh, '{pid}', '{name}']\n`,
    );
    const watch = await runCli(['watch', '-c', config, '--count', '8']);
    assert.equal(watch.code, 0, watch.stderr);
    assert.match(watch.stdout, /crawler {2}exec on pid \d+: ok/);
    assert.equal(readFileSync(out, 'utf8').trim(), `${pidOf(py)} python3`);
    assert.equal(existsSync('/tmp/memwarden-pwned'), false);
  });

  it('signals the matched process and reports gc as not available until a probe exists', async () => {
    const sleeper = start('sleep', ['31500']);
    await new Promise((r) => setTimeout(r, 100));
    const config = join(scratch, 'signal.yaml');
    writeFileSync(
      config,
      `interval: 100ms\nstore: false\ntargets:\n  - name: sleeper\n    match: { pid: ${pidOf(sleeper)} }\n    rules:\n      - when: rss > 1kB\n        do: [gc]\n      - when: threads > 0\n        do: [signal SIGTERM]\n`,
    );
    const watch = await runCli(['watch', '-c', config, '--count', '6', '--json']);
    assert.equal(watch.code, 0, watch.stderr);
    const actions = jsonRecords<{ action: string; ok: boolean; code?: string }>(watch.stdout, 'action');
    assert.ok(actions.some((a) => a.action === 'signal' && a.ok));
    await waitForExit(sleeper);
    assert.equal(sleeper.signalCode, 'SIGTERM');
  });

  it('asks a Node target over the threshold to collect its garbage (quick mode --gc-above)', async () => {
    const garbage =
      'let a = []; for (let i = 0; i < 1e6; i++) a.push({ i, s: "x".repeat(40) + i }); a = null;' +
      'console.log("ready"); setInterval(() => {}, 1000);';
    const target = start(process.execPath, [
      // Its own inspector port: 9229 belongs to the tests that are about it.
      '--inspect-port=9341',
      '--max-old-space-size=4096',
      '-e',
      garbage,
      'memwarden-gc-above',
    ]);
    await waitForLine(target, /ready/);
    const watch = await runCli(
      [
        'watch',
        '--match',
        'memwarden-gc-above',
        '--interval',
        '200ms',
        '--count',
        '15',
        '--gc-above',
        '50MB',
        // memwarden runs as root here, and root's processes are opened up only when asked.
        '--probe-user',
        'root',
        '--no-store',
        '--json',
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(watch.code, 0, watch.stderr);
    const gc = jsonRecords<{
      action: string;
      ok: boolean;
      pid: number;
      details?: { rssBefore?: number; rssAfter?: number };
    }>(watch.stdout, 'action').find((a) => a.action === 'gc');
    assert.ok(gc, watch.stdout.slice(-2000));
    assert.equal(gc.ok, true);
    assert.equal(gc.pid, pidOf(target));
    assert.ok((gc.details?.rssAfter ?? Infinity) < (gc.details?.rssBefore ?? 0), JSON.stringify(gc.details));
    // Opening the target's inspector is put on record (scenario 40a).
    assert.match(
      watch.stderr,
      new RegExp(`audit: woke the runtime of pid ${pidOf(target)} from outside \\(SIGUSR1`),
    );
    assert.ok(isAlive(pidOf(target)));
  });

  /** Runs watch on an idle Node target tagged `tag` and returns its refused gc; nothing was opened. */
  async function refusedGc(tag: string, port: number, watchArgs: string[]) {
    const target = start(process.execPath, [
      `--inspect-port=${port}`,
      '-e',
      'console.log("ready"); setInterval(() => {}, 1000)',
      tag,
    ]);
    await waitForLine(target, /ready/);
    const watch = await runCli(['watch', ...watchArgs, '--count', '6', '--json']);
    assert.equal(watch.code, 0, watch.stderr);
    const gc = jsonRecords<{ action: string; ok: boolean; code?: string; message: string }>(
      watch.stdout,
      'action',
    ).find((a) => a.action === 'gc');
    assert.equal(gc?.ok, false, watch.stdout.slice(-1500));
    assert.equal(gc?.code, 'PROTECTED');
    assert.doesNotMatch(watch.stderr, /audit: woke the runtime/);
    assert.deepEqual(listenersOf(pidOf(target)), [], 'its inspector was opened');
    return { message: gc?.message ?? '', stderr: watch.stderr };
  }

  it('opens no runtime in a process outside probe_users (scenario 40a)', async () => {
    const config = join(scratch, 'probe-users.yaml');
    writeFileSync(
      config,
      `interval: 100ms\nstore: false\nprobe_users: [nobody]\ntargets:\n  - name: app\n    match: memwarden-probe-users\n    rules:\n      - when: rss > 1MB\n        do: [gc]\n`,
    );
    const { message } = await refusedGc('memwarden-probe-users', 9345, ['-c', config]);
    assert.match(message, /belongs to uid 0; probe_users allows uids 65534/);
  });

  it('opens up no process as root when probe_users is not set (scenario 40a)', async () => {
    const { message, stderr } = await refusedGc('memwarden-probe-default', 9355, [
      '--match',
      'memwarden-probe-default',
      '--gc-above',
      '1MB',
      '--interval',
      '100ms',
      '--no-store',
    ]);
    assert.match(stderr, /warning: rules memwarden-probe-default#1: gc\/snapshot\/trim will be refused/);
    assert.match(message, /belongs to uid 0; memwarden runs as root and probe_users is not set/);
  });

  it('restarts a crash-looping target with backoff and gives up after the limit', async () => {
    const config = join(scratch, 'crash.yaml');
    writeFileSync(
      config,
      `interval: 100ms\nstore: ${join(scratch, 'crash.db')}\ntargets:\n  - name: crasher\n    match: memwarden-crash-loop\n    run: [sh, -c, 'echo crashing on purpose >&2; exit 3', memwarden-crash-loop]\n    restart: { max: 2, within: 1m, backoff: 50ms }\n`,
    );
    const watcher = spawn(process.execPath, [BIN, 'watch', '-c', config, '--count', '30'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: CLI_ENV,
    });
    let stderr = '';
    watcher.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    assert.equal(await waitForExit(watcher), 0, stderr);
    assert.match(stderr, /crasher: pid \d+ exited with code 3\n/);
    assert.match(
      stderr,
      /crasher: gave up after 2 restarts within 1 minute and stays stopped; reload the watcher \(kill -HUP \d+\) once it is fixed to start it again/,
    );
    // What it said before dying is beside the history, once per start.
    const output = readFileSync(join(scratch, 'crasher.output.log'), 'utf8');
    assert.equal(output, 'crashing on purpose\n'.repeat(3));
    const saved = supervisorRow(join(scratch, 'crash.db'), 'crasher');
    assert.equal(saved?.gave_up, 1);
    assert.equal(JSON.parse(saved?.restart_times ?? '[]').length, 2);
    // The counters survive a watcher restart: a new watcher does not start the target again.
    const again = await runCli(['watch', '-c', config, '--count', '3']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /crasher {2}no process matches/);
  });

  it("takes run:, exec: and the store from the config file's directory, wherever it is started", async () => {
    const dir = join(scratch, 'elsewhere');
    const appDir = join(dir, 'app');
    mkdirSync(appDir, { recursive: true });
    writeFileSync(join(appDir, 'api.js'), 'console.log("api up"); setInterval(() => {}, 1000);\n');
    writeFileSync(join(dir, 'notify.sh'), '#!/bin/sh\necho "$1" > notified.txt\n');
    chmodSync(join(dir, 'notify.sh'), 0o755);
    const config = join(dir, 'memwarden.yaml');
    writeFileSync(
      config,
      [
        'interval: 100ms',
        'store: history.db',
        'targets:',
        '  - name: api',
        '    match: memwarden-relative-api',
        '    run: [node, api.js, memwarden-relative-api]',
        '    cwd: app',
        '    rules:',
        '      - when: rss > 1MB',
        "        do: [{ exec: ['../notify.sh', '{pid}'] }]",
        '',
      ].join('\n'),
    );
    try {
      const watcher = spawn(process.execPath, [BIN, 'watch', '-c', config], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: CLI_ENV,
        cwd: tmpdir(),
      });
      let out = '';
      watcher.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      let stderr = '';
      watcher.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const notified = join(appDir, 'notified.txt');
      await waitUntil(`the exec action ran (${stderr}${out})`, () => existsSync(notified));
      watcher.kill('SIGTERM');
      assert.equal(await waitForExit(watcher), 0, stderr);
      const [api] = pidsRunning('memwarden-relative-api');
      assert.ok(api !== undefined, stderr);
      assert.equal(readFileSync(notified, 'utf8').trim(), String(api));
      assert.match(out, /api {2}exec on pid \d+: ok/);
      assert.ok(existsSync(join(dir, 'history.db')), 'the store is beside the config');
      await waitUntil('the supervised process wrote its output', () =>
        readFileSync(join(dir, 'api.output.log'), 'utf8').includes('api up'),
      );
    } finally {
      for (const pid of pidsRunning('memwarden-relative-api')) process.kill(pid, 'SIGKILL');
    }
  });

  it('refuses a cwd: that does not exist, at its line', async () => {
    const config = join(scratch, 'badcwd.yaml');
    writeFileSync(config, 'store: false\ntargets:\n  - name: api\n    match: x\n    cwd: no-such-dir\n');
    const { code, stderr } = await runCli(['check', '-c', config]);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /badcwd\.yaml:5:\d+: .*the directory .*no-such-dir does not exist/);
  });

  it('leaves the processes it started running when it stops, and the next watcher follows them (scenario 24)', async () => {
    const config = join(scratch, 'run.yaml');
    writeFileSync(
      config,
      `interval: 100ms\nstore: ${join(scratch, 'run.db')}\ntargets:\n  - name: svc\n    match: memwarden-supervised-sleep\n    run: [sh, -c, 'exec sleep 31600', memwarden-supervised-sleep]\n    restart: { max: 3, within: 1m, backoff: 50ms }\n`,
    );
    const env = CLI_ENV;
    const watchedPids = (stdout: string) =>
      new Set(jsonRecords<{ pid: number }>(stdout, 'process').map((r) => r.pid));
    const first = await runCli(['watch', '-c', config, '--count', '5', '--json'], { env });
    assert.equal(first.code, 0, first.stderr);
    const [pid] = [...watchedPids(first.stdout)];
    assert.ok(pid !== undefined, 'the supervised process was watched');
    try {
      assert.equal(isAlive(pid), true, 'a watcher that stops leaves its service running');
      const second = await runCli(['watch', '-c', config, '--count', '5', '--json'], { env });
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(
        [...watchedPids(second.stdout)],
        [pid],
        'the next watcher follows it instead of starting another',
      );

      // Followed, not owned: when it dies, the watcher starts it again.
      const third = spawn(process.execPath, [BIN, 'watch', '-c', config, '--count', '40', '--json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      });
      let out = '';
      third.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      await waitForLine(third, /"kind":"process"/);
      process.kill(pid, 'SIGKILL');
      await waitForExit(third);
      const after = [...watchedPids(out)].filter((p) => p !== pid);
      assert.equal(after.length, 1, out.slice(-1500));
      for (const p of after) process.kill(-p, 'SIGKILL');
    } finally {
      if (isAlive(pid)) process.kill(-pid, 'SIGKILL');
    }
  });

  it('a watcher killed after the second restart gives up after one more, not three (scenario 24)', async () => {
    const store = join(scratch, 'crash24.db');
    const config = join(scratch, 'crash24.yaml');
    writeFileSync(
      config,
      `interval: 100ms\nstore: ${store}\ntargets:\n  - name: crasher\n    match: memwarden-crash24\n    run: [sh, -c, 'sleep 0.3; exit 3', memwarden-crash24]\n    restart: { max: 3, within: 1m, backoff: 50ms }\n`,
    );
    const first = start(process.execPath, [BIN, 'watch', '-c', config], { env: CLI_ENV });
    // The first start and two restarts, then the watcher dies without a chance to save anything.
    await waitForLines(first, /crasher: started pid/, { count: 3, stream: 'stderr' });
    first.kill('SIGKILL');
    await waitForExit(first);
    assert.equal(JSON.parse(supervisorRow(store, 'crasher')?.restart_times ?? '[]').length, 2);

    const second = start(process.execPath, [BIN, 'watch', '-c', config, '--count', '60'], { env: CLI_ENV });
    let stderr = '';
    second.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    await waitForLines(second, /crasher: gave up after 3 restarts/, {
      stream: 'stderr',
      timeoutMs: 15_000,
    });
    second.kill('SIGTERM');
    await waitForExit(second);
    const starts = stderr.split('\n').filter((l) => /crasher: started pid/.test(l));
    assert.equal(starts.length, 2, `the one it found (or started) and one restart:\n${stderr}`);
    const saved = supervisorRow(store, 'crasher');
    assert.equal(saved?.gave_up, 1);
    assert.equal(JSON.parse(saved?.restart_times ?? '[]').length, 3);
  });

  it('keeps a rule cooling down across a killed watcher; an edited rule starts afresh (scenario 24)', async () => {
    const target = start('sleep', ['31702']);
    await waitForExec(pidOf(target), '31702');
    await keepsCooldownAcrossKill(scratch, 'sleeper', 'sleep 31702', 'rss');
  });

  it('marks an action that a killed watcher left running as of unknown outcome (scenario 24)', async () => {
    const target = start('sleep', ['31703']);
    await waitForExec(pidOf(target), '31703');
    const store = join(scratch, 'intent.db');
    const config = join(scratch, 'intent.yaml');
    writeFileSync(
      config,
      `interval: 100ms\nstore: ${store}\ntargets:\n  - name: sleeper\n    match: sleep 31703\n    rules:\n      - when: rss > 1KB\n        do:\n          - exec: [sleep, '31704']\n            timeout: 1h\n`,
    );
    const first = start(process.execPath, [BIN, 'watch', '-c', config], { env: CLI_ENV });
    try {
      // The journal row is written before the command starts: once it runs, the row is there.
      const deadline = Date.now() + 10_000;
      while (pidsRunning('31704').length === 0) {
        assert.ok(Date.now() < deadline, 'the exec action never started');
        await new Promise((r) => setTimeout(r, 50));
      }
      first.kill('SIGKILL');
      await waitForExit(first);
      const open = readRows<{ outcome: string | null }>(store, 'SELECT outcome FROM actions');
      assert.deepEqual(open, [{ outcome: null }], 'begun, never finished');

      const second = await runCli(['watch', '-c', config, '--count', '2']);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, /stopped during 1 action\(s\); their outcome is unknown/);
      assert.match(second.stderr, new RegExp(`exec on pid ${pidOf(target)} \\(sleeper#1\\)`));
      const rows = readRows<{ outcome: string; action: string }>(
        store,
        'SELECT outcome, action FROM actions',
      );
      assert.deepEqual(
        rows,
        [{ outcome: 'unknown', action: 'exec' }],
        'and no second exec: the rule is cooling down',
      );
      const events = readRows<{ message: string }>(store, "SELECT message FROM events WHERE kind = 'action'");
      assert.ok(events.some((e) => /exec: outcome unknown/.test(e.message)));
    } finally {
      for (const pid of pidsRunning('31704')) process.kill(pid, 'SIGKILL');
    }
  });

  it('refuses to start targets with run: without a history file to keep their counters', async () => {
    const config = join(scratch, 'nostore.yaml');
    writeFileSync(
      config,
      `interval: 100ms\nstore: false\ntargets:\n  - name: svc\n    match: memwarden-nostore\n    run: [sleep, '31705']\n`,
    );
    const check = await runCli(['check', '-c', config]);
    assert.equal(check.code, 2);
    assert.match(
      check.stderr,
      /nostore\.yaml:2:\d+: .*targets with run: \(svc\) keep their restart counters/,
    );
    writeFileSync(
      config,
      `interval: 100ms\ntargets:\n  - name: svc\n    match: memwarden-nostore\n    run: [sleep, '31705']\n`,
    );
    const watch = await runCli(['watch', '-c', config, '--no-store', '--count', '1']);
    assert.equal(watch.code, 2);
    assert.match(watch.stderr, /drop --no-store/);
    assert.deepEqual(pidsRunning('31705'), [], 'nothing was started');
  });
});
