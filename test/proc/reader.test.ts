import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ProcReader, pageSizeBytes, parseCmdline, parseStat, readKernelStat } from '../../src/proc/index.js';
import { pidOf, start, waitForExec, waitForExit, waitForLine, waitUntil } from '../helpers/processes.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-proc-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

describe('ProcReader on the real /proc', () => {
  it('reads a sleep: identity, command line, state, memory', async () => {
    const before = Date.now();
    const child = start('sleep', ['1000']);
    const reader = new ProcReader();
    // Right after spawn the child may not have exec'd yet, or not reached its sleep: on a busy
    // machine it can sit runnable (or be caught mid-exec) for a while. Wait until it sleeps.
    await waitForExec(pidOf(child), '1000');
    await waitUntil('the sleep sleeps', () => reader.read(pidOf(child))?.state === 'S');
    const record = reader.read(pidOf(child));
    assert.ok(record);
    assert.equal(record.ppid, process.pid);
    assert.deepEqual(record.cmdline, ['sleep', '1000']);
    assert.equal(record.name, 'sleep');
    assert.equal(record.threads, 1);
    assert.ok(record.rss !== undefined && record.rss > 0);
    assert.ok(record.vms !== undefined && record.vms >= record.rss);
    // Start time: clock-tick precision, boot time at one-second precision.
    assert.ok(Math.abs(record.startTime - before) < 2000, `start ${record.startTime} vs ${before}`);
    assert.equal(record.user, 'root');
    reader.close();
  });

  it('splits stat at the last parenthesis for names holding ") ("', async () => {
    const dir = join(scratch, 'odd');
    mkdirSync(dir);
    const exe = join(dir, 'sl) (eep x');
    copyFileSync('/bin/sleep', exe);
    execFileSync('chmod', ['+x', exe]);
    const child = start(exe, ['1000']);
    const reader = new ProcReader();
    let record = reader.read(pidOf(child));
    for (let i = 0; i < 100 && record?.name !== 'sl) (eep x'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      record = reader.read(pidOf(child));
    }
    assert.equal(record?.name, 'sl) (eep x');
    assert.equal(record?.ppid, process.pid);
    assert.equal(record?.threads, 1);
    assert.deepEqual(record?.cmdline, [exe, '1000']);
    reader.close();
  });

  it('reads a comm set with PR_SET_NAME to "a) b (c" (scenario 10)', async () => {
    const child = start('python3', [join(FIXTURES, 'rename.py'), 'a) b (c']);
    await waitForLine(child, /ready/);
    const record = new ProcReader().read(pidOf(child));
    assert.equal(record?.name, 'a) b (c');
    assert.equal(record?.ppid, process.pid);
  });

  it('replaces bytes that are not UTF-8 instead of failing', async () => {
    const script =
      "import os; print('ready', flush=True); os.execv('/bin/sh', [b'sh', b'-c', b'sleep 1000', b'\\xff\\xfeA'])";
    const child = start('python3', ['-c', script]);
    await waitForLine(child, /ready/);
    await waitForExec(pidOf(child), 'sh\0-c\0sleep');
    const record = new ProcReader().read(pidOf(child));
    assert.ok(record);
    assert.ok(
      record.cmdline.some((arg) => arg.includes('\ufffd')),
      JSON.stringify(record.cmdline),
    );
  });

  it('returns nothing for a process that exited, also through a kept fd', async () => {
    const child = start('sleep', ['1000']);
    const pid = pidOf(child);
    const reader = new ProcReader();
    assert.ok(reader.read(pid));
    assert.equal(reader.keptProcesses, 1);
    child.kill('SIGKILL');
    await waitForExit(child);
    assert.equal(reader.read(pid), undefined);
    assert.equal(reader.keptProcesses, 0);
    assert.equal(reader.identity(pid), undefined);
    assert.deepEqual(reader.errors, { denied: 0, failed: 0 });
  });

  it('reports a zombie as Z with unknown memory (scenario 7)', async () => {
    const parent = start('python3', [join(FIXTURES, 'zombie.py')]);
    const zombiePid = Number(await waitForLine(parent, /^\d+$/));
    const reader = new ProcReader();
    let record = reader.read(zombiePid);
    for (let i = 0; i < 100 && record?.state !== 'Z'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      record = reader.read(zombiePid);
    }
    assert.equal(record?.state, 'Z');
    assert.equal(record?.rss, undefined);
    assert.deepEqual(record?.cmdline, []);
  });

  it('marks kernel threads', (t) => {
    const kthreadd = new ProcReader().read(2);
    if (kthreadd?.name !== 'kthreadd') {
      t.skip('no kernel threads are visible here (a container without the host pid namespace)');
      return;
    }
    assert.equal(kthreadd.kernelThread, true);
    assert.equal(new ProcReader().read(process.pid)?.kernelThread, false);
  });

  it('reads statm again after a process allocates, and keeps reporting its exact RSS', async () => {
    const child = start(process.execPath, [join(FIXTURES, 'grow.js')], { stdio: ['pipe', 'pipe', 'pipe'] });
    await waitForLine(child, /ready/);
    const pid = pidOf(child);
    const reader = new ProcReader();
    const statmRss = () =>
      Number(readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1]) * pageSizeBytes();
    // Several reads of an idle process: each must match statm itself, re-read or not.
    for (let i = 0; i < 10; i++) {
      const rss = reader.read(pid)?.rss;
      assert.ok(rss !== undefined && Math.abs(rss - statmRss()) <= 64 * 1024, `read ${i}: ${rss}`);
    }
    const before = reader.read(pid)?.rss ?? 0;
    child.stdin?.write('grow:64\n');
    await waitForLine(child, /ok/);
    const after = reader.read(pid)?.rss ?? 0;
    assert.ok(after - before >= 60 * 1024 * 1024, `rss went from ${before} to ${after}`);
    reader.close();
  });

  it('sees a single-threaded process that ran since the last read, to the tick (schedstat)', async () => {
    // Busy for a quarter second of its own CPU time whenever it reads a line: its CPU time
    // moves only then, and by that much however busy the machine is (process_time, not time).
    const child = start(
      'python3',
      [
        '-u',
        '-c',
        'import sys, time\nprint("ready")\nfor _ in sys.stdin:\n    t = time.process_time()\n    while time.process_time() - t < 0.25: pass\n    print("done")',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    await waitForLine(child, /ready/);
    const pid = pidOf(child);
    const reader = new ProcReader();
    const first = reader.read(pid);
    assert.ok(first);
    for (let i = 0; i < 3; i++)
      assert.equal(reader.read(pid)?.cpuTicks, first.cpuTicks, 'idle: nothing moves');
    const done = waitForLine(child, /done/);
    child.stdin?.write('go\n');
    await done;
    const after = reader.read(pid);
    const fresh = new ProcReader().read(pid);
    assert.ok(after && fresh);
    assert.ok(after.cpuTicks >= first.cpuTicks + 20, `${after.cpuTicks} after ${first.cpuTicks}`);
    assert.equal(after.cpuTicks, fresh.cpuTicks, 'the same as a reader that never saw it before');
    assert.equal(after.rss, fresh.rss);
  });

  it('keeps no schedstat open when told each process is read only twice, and still reads stat', async () => {
    const child = start('sleep', ['1003']);
    const pid = pidOf(child);
    await waitForExec(pid, '1003');
    const reader = new ProcReader({ schedstat: false });
    try {
      assert.ok(reader.read(pid));
      const kept = readdirSync('/proc/self/fd').map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      });
      assert.ok(kept.includes(`/proc/${pid}/stat`), 'stat is kept open');
      assert.ok(!kept.includes(`/proc/${pid}/schedstat`), 'schedstat is not');
      const again = reader.read(pid);
      assert.equal(again?.startTicks, new ProcReader().read(pid)?.startTicks);
    } finally {
      reader.close();
      child.kill('SIGKILL');
      await waitForExit(child);
    }
  });

  it('shows a new parent of a process that never runs within 8 reads', async () => {
    // The shell starts a sleep and waits; once it is killed, the sleep is re-parented without
    // running at all.
    const shell = start('sh', ['-c', 'sleep 1001 & echo $!; read _'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const pid = Number(await waitForLine(shell, /^\d+$/));
    try {
      await waitForExec(pid, '1001');
      const reader = new ProcReader();
      assert.equal(reader.read(pid)?.ppid, pidOf(shell));
      shell.kill('SIGKILL');
      await waitForExit(shell);
      const parents: (number | undefined)[] = [];
      for (let i = 0; i < 9; i++) parents.push(reader.read(pid)?.ppid);
      assert.ok(
        parents.some((p) => p !== pidOf(shell)),
        `still the old parent after ${parents.length} reads: ${parents.join(' ')}`,
      );
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  it('finds a process created since the last sweep: its fork moved the count', () => {
    const reader = new ProcReader();
    const before = readKernelStat().forks;
    assert.ok(before !== undefined);
    reader.sweep({ forks: before });
    const pid = pidOf(start('sleep', ['1000']));
    const after = readKernelStat().forks;
    assert.notEqual(after, before);
    assert.ok(reader.sweep({ forks: after }).some((r) => r.pid === pid));
    reader.close();
  });

  it('drops a process that exited from a sweep that reuses the last listing', async () => {
    const children = [start('sleep', ['1000']), start('sleep', ['1000'])];
    const [first, second] = children.map(pidOf) as [number, number];
    const reader = new ProcReader();
    // The same count both times, as if nothing forked: the second sweep lists nothing.
    const forks = readKernelStat().forks;
    const pidsOf = () => reader.sweep({ forks }).map((r) => r.pid);
    const listed = pidsOf();
    assert.ok(listed.includes(first) && listed.includes(second));
    const kept = reader.keptProcesses;
    children[0]?.kill('SIGKILL');
    if (children[0]) await waitForExit(children[0]);
    const again = pidsOf();
    assert.ok(!again.includes(first) && again.includes(second));
    assert.deepEqual(
      again,
      listed.filter((pid) => again.includes(pid)),
      'the listing order is kept',
    );
    // Others' processes may exit meanwhile too (a shared, busy machine): at least ours went.
    assert.ok(reader.keptProcesses <= kept - 1, `${reader.keptProcesses} kept of ${kept}`);
    assert.ok(!pidsOf().includes(first));
    reader.close();
  });

  it('keeps every record whole while processes come and go by the hundred (scenario 6)', async () => {
    const churners = [0, 1].map(() => start('sh', ['-c', 'while :; do /bin/true; done']));
    const reader = new ProcReader();
    let seen = 0;
    for (let round = 0; round < 40; round++) {
      for (const r of reader.sweep()) {
        seen++;
        if (!r.kernelThread && r.state !== 'Z') {
          assert.ok(r.rss !== undefined, `pid ${r.pid} has no rss`);
          // A process inside execve() shows an empty command line for a moment: that is its state,
          // not a half read; what must never appear is a live process without memory.
          assert.ok(r.vms !== undefined && r.vms > 0, `pid ${r.pid} (${r.name}) has no address space`);
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(seen > 40);
    for (const c of churners) c.kill('SIGKILL');
    reader.close();
  });
});

describe('ProcReader on a fixture procfs', () => {
  function fixture(files: Record<string, string>): string {
    const root = mkdtempSync(join(scratch, 'procfs-'));
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    return root;
  }
  const stat = (pid: number, name: string) =>
    `${pid} (${name}) S 1 ${pid} ${pid} 0 -1 4194304 100 0 0 0 5 7 0 0 20 0 1 0 500 10000000 300 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`;

  it('skips a pid whose stat is gone and keeps one whose cmdline is gone', () => {
    const root = fixture({
      stat: 'cpu 1 2 3 4 5 6 7 8 0 0\nbtime 1700000000\n',
      '10/stat': stat(10, 'kept'),
      '10/cmdline': 'kept\0',
      '11/cmdline': 'half\0',
      '12/stat': stat(12, 'nocmd'),
    });
    const records = new ProcReader({ root }).sweep();
    assert.deepEqual(
      records.map((r) => [r.pid, r.name, r.cmdline, r.partial]),
      [
        [10, 'kept', ['kept'], undefined],
        [12, 'nocmd', [], ['cmdline']],
      ],
    );
    const kept = records[0];
    assert.equal(kept?.startTime, (1_700_000_000 + 5) * 1000);
    assert.equal(kept?.cpuTicks, 12);
  });

  it('never hangs on a file that blocks, and still reads every other process (scenario 34)', () => {
    const root = fixture({
      stat: 'cpu 1 2 3 4 5 6 7 8 0 0\nbtime 1700000000\n',
      '20/stat': stat(20, 'stuck'),
      '21/stat': stat(21, 'fine'),
      '21/cmdline': 'fine\0',
    });
    // A FIFO with no writer: a plain blocking open or read of it would never return.
    execFileSync('mkfifo', [join(root, '20', 'cmdline')]);
    const reader = new ProcReader({ root });
    const records = reader.sweep();
    assert.deepEqual(
      records.map((r) => [r.pid, r.cmdline, r.partial]),
      [
        [20, [], ['cmdline']],
        [21, ['fine'], undefined],
      ],
    );
    assert.ok(reader.errors.failed >= 1);
  });
});

describe('parsers', () => {
  it('rejects what is not a stat line', () => {
    assert.equal(parseStat(Buffer.from('garbage')), undefined);
    assert.equal(parseStat(Buffer.from('1 (x) S 1')), undefined);
    const line = Buffer.from(
      '7 (a) b (c) R 1 7 7 0 -1 4194560 11 0 12 0 3 4 0 0 20 0 2 0 99 8192 5 18446744073709551615\n',
    );
    assert.deepEqual(parseStat(line), {
      name: 'a) b (c',
      state: 'R',
      ppid: 1,
      flags: 4194560,
      minorFaults: 11,
      majorFaults: 12,
      utimeTicks: 3,
      stimeTicks: 4,
      threads: 2,
      startTicks: 99,
      vmsBytes: 8192,
      rssPages: 5,
    });
  });

  it('splits a command line the way psutil does', () => {
    const parse = (s: string) => parseCmdline(Buffer.from(s, 'latin1'), Buffer.byteLength(s, 'latin1'));
    assert.deepEqual(parse('a\0b c\0'), ['a', 'b c']);
    assert.deepEqual(parse('nginx: worker process'), ['nginx:', 'worker', 'process']);
    assert.deepEqual(parse('nginx: master\0'), ['nginx:', 'master']);
    assert.deepEqual(parse('prog\0\0'), ['prog', '']);
    assert.deepEqual(parse(''), []);
  });
});
