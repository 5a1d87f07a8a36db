import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { type ProcessRecord, ProcReader } from '../../src/proc/index.js';
import { pidOf, start, waitForExec, waitForLine } from '../helpers/processes.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
// Debian's interpreter, where apt's python3-psutil lives (a pyenv python3 may come first on PATH).
const SYSTEM_PYTHON = '/usr/bin/python3';

interface PsutilRow {
  pid: number;
  ppid: number;
  createTime: number;
  rss: number | null;
  cmdline: string[] | null;
  name: string;
}

function psutilAvailable(): boolean {
  return spawnSync(SYSTEM_PYTHON, ['-c', 'import psutil'], { stdio: 'ignore' }).status === 0;
}

describe('agreement with psutil for every process on the machine', {
  skip: psutilAvailable() ? false : 'python3-psutil is not installed (apt-get install python3-psutil)',
}, () => {
  const ours = new Map<number, ProcessRecord>();
  /** Our RSS of each process read again after psutil's sweep: unchanged means it held still. */
  const oursAfter = new Map<number, number | undefined>();
  const theirs = new Map<number, PsutilRow>();
  const spawned: number[] = [];

  before(async () => {
    for (let i = 0; i < 20; i++) spawned.push(pidOf(start('sleep', [String(7000 + i)])));
    const py = start('python3', [join(FIXTURES, 'touna0627.py')]);
    await waitForLine(py, /ready/);
    spawned.push(pidOf(py));
    for (const [i, pid] of spawned.slice(0, 20).entries()) await waitForExec(pid, String(7000 + i));
    const reader = new ProcReader();
    for (const record of reader.sweep()) ours.set(record.pid, record);
    const out = spawnSync(SYSTEM_PYTHON, [join(FIXTURES, 'psutil_sweep.py')], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    for (const row of JSON.parse(out.stdout) as PsutilRow[]) theirs.set(row.pid, row);
    for (const record of reader.sweep()) oursAfter.set(record.pid, record.rss);
  });

  it('sees the same processes', () => {
    const union = new Set([...ours.keys(), ...theirs.keys()]);
    const both = [...union].filter((pid) => ours.has(pid) && theirs.has(pid));
    // Only processes born or gone between the two sweeps (psutil's own children, ours) differ.
    assert.ok(
      union.size - both.length <= 5,
      `differ: ${[...union].filter((p) => !both.includes(p)).join(' ')}`,
    );
    for (const pid of spawned) assert.ok(ours.has(pid) && theirs.has(pid), `pid ${pid}`);
  });

  it('agrees on start times to the millisecond', () => {
    let compared = 0;
    for (const [pid, row] of theirs) {
      const record = ours.get(pid);
      if (!record) continue;
      compared++;
      assert.ok(
        Math.abs(record.startTime - row.createTime * 1000) <= 1,
        `pid ${pid}: ${record.startTime} vs ${row.createTime}`,
      );
    }
    assert.ok(compared > 20);
  });

  it('agrees on command lines', () => {
    const differing: number[] = [];
    for (const [pid, row] of theirs) {
      const record = ours.get(pid);
      if (!record || row.cmdline === null) continue;
      if (JSON.stringify(record.cmdline) !== JSON.stringify(row.cmdline)) differing.push(pid);
    }
    for (const pid of spawned) assert.ok(!differing.includes(pid), `pid ${pid}`);
    assert.ok(
      differing.length <= 2,
      `differ: ${differing.map((p) => `${p} ${JSON.stringify(ours.get(p)?.cmdline)} vs ${JSON.stringify(theirs.get(p)?.cmdline)}`).join('; ')}`,
    );
  });

  it('agrees on RSS for every process that holds still', () => {
    let same = 0;
    let compared = 0;
    for (const [pid, row] of theirs) {
      const record = ours.get(pid);
      if (!record || row.rss === null || record.rss === undefined || record.kernelThread) continue;
      if (oursAfter.get(pid) !== record.rss) continue; // it moved while the two tools looked
      compared++;
      if (record.rss === row.rss) same++;
    }
    for (const pid of spawned.slice(0, 20))
      assert.equal(ours.get(pid)?.rss, theirs.get(pid)?.rss, `pid ${pid}`);
    assert.ok(compared > 20);
    assert.ok(same >= compared - 2, `${same} of ${compared} agree`);
  });
});
