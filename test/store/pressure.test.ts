import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { type Pressure, ProcReader, parsePressure } from '../../src/proc/index.js';
import { Sampler } from '../../src/sample/index.js';
import { openHistory, openStore, SCHEMA_VERSION } from '../../src/store/index.js';
import { makeUnifiedCgroup, moveInto, whyNoUnifiedPressure } from '../helpers/cgroups.js';
import { batchAt } from './samples.js';
import { tempDir } from './temp.js';

const PSI_FILE = '/proc/pressure/memory';
const noPsi = (() => {
  try {
    readFileSync(PSI_FILE);
    return false;
  } catch {
    return 'this kernel keeps no /proc/pressure/memory';
  }
})();

function readPsi(path = PSI_FILE): Pressure {
  const pressure = parsePressure(readFileSync(path, 'utf8'));
  assert.ok(pressure, `${path} parses`);
  return pressure;
}

/**
 * A stored value agrees with the file when it lies between a read just before the sample and
 * one just after: totals only grow, and the kernel moves the averages at most once in 2 s.
 */
function assertBetween(stored: Pressure, before: Pressure, after: Pressure): void {
  for (const kind of ['some', 'full'] as const) {
    const s = stored[kind];
    const b = before[kind];
    const a = after[kind];
    assert.ok(s && b && a, `${kind} line stored`);
    assert.ok(
      b.totalUs <= s.totalUs && s.totalUs <= a.totalUs,
      `${kind} total ${s.totalUs} in [${b.totalUs}, ${a.totalUs}]`,
    );
    for (const field of ['avg10', 'avg60', 'avg300'] as const)
      assert.ok([b[field], a[field]].includes(s[field]), `${kind} ${field} ${s[field]} read from the file`);
  }
}

describe('memory pressure in the history file', { skip: noPsi }, () => {
  it('stores the machine pressure of each cycle as /proc/pressure/memory gave it', () => {
    const path = join(tempDir(), 'history.db');
    const sampler = new Sampler(new ProcReader());
    const store = openStore(path, { maintenanceIntervalMs: 0 });
    const before = readPsi();
    const system = sampler.system();
    const after = readPsi();
    try {
      store.append({ time: system.time, system, processes: [] });
      assert.equal(store.flush().ok, true);
    } finally {
      store.close();
    }
    const history = openHistory(path);
    try {
      const [point] = history.system({ sinceMs: 0 });
      assert.ok(point?.pressure, 'the stored row has the pressure');
      assert.deepEqual(point.pressure, system.pressure);
      assertBetween(point.pressure, before, after);
    } finally {
      history.close();
    }
  });

  it('keeps pressure through downsampling: averages averaged, the last total kept', () => {
    const path = join(tempDir(), 'history.db');
    const store = openStore(path, { maintenanceIntervalMs: 0, downsample: [] });
    const t0 = Date.now() - 60_000;
    try {
      for (let i = 0; i < 4; i++) {
        const batch = batchAt(t0 + i * 1000);
        const line = { avg10: i * 10, avg60: i, avg300: 0.5, totalUs: 1000 * (i + 1) };
        if (batch.system) batch.system.pressure = { some: line, full: { ...line, avg10: i } };
        store.append(batch);
      }
      assert.equal(store.flush().ok, true);
      const [bucket] = store.system({ sinceMs: t0, untilMs: t0 + 4000, maxPoints: 1 });
      assert.deepEqual(bucket?.pressure, {
        some: { avg10: 15, avg60: 1.5, avg300: 0.5, totalUs: 4000 },
        full: { avg10: 1.5, avg60: 1.5, avg300: 0.5, totalUs: 4000 },
      });
    } finally {
      store.close();
    }
  });

  it('upgrades a schema-3 file: its old rows have no pressure, new rows do (schemas 4 and 5)', () => {
    const path = join(tempDir(), 'history.db');
    const t0 = Date.now() - 10_000;
    const first = openStore(path, { maintenanceIntervalMs: 0 });
    first.append(batchAt(t0));
    first.close();
    // What a file from before pressure was kept looks like.
    const raw = new Database(path);
    for (const kind of ['some', 'full'])
      for (const field of ['avg10', 'avg60', 'avg300', 'total'])
        raw.exec(`ALTER TABLE system_samples DROP COLUMN psi_${kind}_${field}`);
    raw.exec('DROP INDEX process_samples_cgroup_psi');
    raw.exec('ALTER TABLE process_samples DROP COLUMN cgroup_psi_some');
    raw.exec('ALTER TABLE process_samples DROP COLUMN cgroup_psi_full');
    // Schema 7's table too: a schema-3 file had none.
    raw.exec('DROP TABLE group_rule_firings');
    raw.pragma('user_version = 3');
    raw.close();

    const upgraded = openStore(path, { maintenanceIntervalMs: 0 });
    try {
      const batch = batchAt(t0 + 1000);
      const line = { avg10: 1, avg60: 2, avg300: 3, totalUs: 4 };
      if (batch.system) batch.system.pressure = { some: line, full: line };
      upgraded.append(batch);
      assert.equal(upgraded.flush().ok, true);
      const points = upgraded.system({ sinceMs: 0 });
      assert.equal(points.length, 2);
      assert.equal(points[0]?.pressure, undefined);
      assert.deepEqual(points[1]?.pressure, { some: line, full: line });
    } finally {
      upgraded.close();
    }
    const version = new Database(path, { readonly: true });
    try {
      assert.equal(version.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    } finally {
      version.close();
    }
  });

  it("stores a process's cgroup v2 pressure with its samples", { skip: whyNoUnifiedPressure() }, async () => {
    const cgroup = makeUnifiedCgroup();
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      const pid = child.pid ?? 0;
      moveInto(cgroup, pid);
      const reader = new ProcReader();
      const sampler = new Sampler(reader);
      const record = reader.read(pid);
      assert.ok(record, 'the child is readable');
      const [sample] = sampler.processes([record], sampler.system().memTotal);
      assert.ok(sample?.cgroupPressure, 'the sampler read the group pressure');
      const file = readPsi(`${cgroup.dir}/memory.pressure`);
      const path = join(tempDir(), 'history.db');
      const store = openStore(path, { maintenanceIntervalMs: 0 });
      try {
        store.append({ time: sample.time, processes: [{ target: 'sleeper', sample }] });
        assert.equal(store.flush().ok, true);
      } finally {
        store.close();
      }
      const history = openHistory(path);
      try {
        const [point] = history.history({ target: 'sleeper', sinceMs: 0 });
        assert.equal(point?.cgroupPsiSome, sample.cgroupPressure.some.avg10);
        assert.equal(point?.cgroupPsiFull, sample.cgroupPressure.full?.avg10);
        assert.equal(point?.cgroupPsiSome, file.some.avg10);
      } finally {
        history.close();
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
