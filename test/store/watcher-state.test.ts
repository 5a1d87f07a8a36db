import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openStore, SCHEMA_VERSION } from '../../src/store/index.js';
import { readRows } from '../helpers/sqlite.js';
import { tempDir } from './temp.js';

const T0 = 1_700_000_000_000;

describe("the watcher's memory in the history file", () => {
  it('marks actions begun and never ended as unknown when the file is opened again', () => {
    const path = join(tempDir(), 'history.db');
    const first = openStore(path, { maintenanceIntervalMs: 0, now: () => T0 });
    const intent = { time: T0, action: 'signal', target: 'web', rule: 'web#1', pid: 41, startTicks: 7 };
    const done = first.beginAction(intent);
    first.endAction(done, { time: T0 + 5, ok: false, code: 'EPERM', message: 'not permitted' });
    const open = first.beginAction({ ...intent, action: 'restart', pid: 42 });
    assert.notEqual(open, done);
    // Committed before beginAction returned (with what was queued before it): another
    // connection sees the rows at once.
    assert.deepEqual(readRows(path, 'SELECT action, outcome FROM actions ORDER BY id'), [
      { action: 'signal', outcome: 'failed' },
      { action: 'restart', outcome: null },
    ]);
    first.flush();
    // A watcher killed here never ends the second one; a new one must not leave it open.
    const raw = new Database(path);
    raw.prepare('UPDATE sessions SET closed_at = NULL').run();
    raw.close();

    const second = openStore(path, { maintenanceIntervalMs: 0, now: () => T0 + 60_000 });
    try {
      assert.equal(second.unfinishedActions.count, 1);
      assert.deepEqual(second.unfinishedActions.listed, [
        { id: open, ...intent, action: 'restart', pid: 42 },
      ]);
      assert.deepEqual(readRows(path, 'SELECT action, outcome, code FROM actions ORDER BY id'), [
        { action: 'signal', outcome: 'failed', code: 'EPERM' },
        { action: 'restart', outcome: 'unknown', code: null },
      ]);
      second.flush();
      const events = second.events({ sinceMs: 0 }).filter((e) => e.kind === 'action');
      assert.equal(events.length, 1);
      assert.match(events[0]?.message ?? '', /restart: outcome unknown/);
      const next = second.beginAction(intent);
      assert.ok(next > open, 'ids go on from the file, never reused');
    } finally {
      second.close();
      first.close();
    }
  });

  it('keeps rule firings per (rule, process), clears and forgets them', () => {
    const path = join(tempDir(), 'history.db');
    const store = openStore(path, { maintenanceIntervalMs: 0 });
    try {
      store.saveRuleFiring({ ruleKey: 'a', pid: 1, startTicks: 2, firedAtMs: T0, firing: true });
      store.saveRuleFiring({ ruleKey: 'b', pid: 1, startTicks: 2, firedAtMs: T0, firing: true });
      store.saveRuleFiring({ ruleKey: 'a', pid: 3, startTicks: 4, firedAtMs: T0, firing: true });
      store.saveRuleFiring({ ruleKey: 'a', pid: 1, startTicks: 2, firedAtMs: T0 + 9, firing: true });
      store.clearRuleFiring('b', 1, 2);
      store.forgetRuleFirings(3, 4);
      store.flush();
      assert.deepEqual(
        store.ruleFirings().sort((x, y) => x.ruleKey.localeCompare(y.ruleKey)),
        [
          { ruleKey: 'a', pid: 1, startTicks: 2, firedAtMs: T0 + 9, firing: true },
          { ruleKey: 'b', pid: 1, startTicks: 2, firedAtMs: T0, firing: false },
        ],
      );
    } finally {
      store.close();
    }
  });

  it('upgrades a schema-1 history file in place, keeping its samples', () => {
    const path = join(tempDir(), 'history.db');
    const store = openStore(path, { maintenanceIntervalMs: 0 });
    store.appendEvent({ time: T0, kind: 'gap', message: 'kept' });
    store.close();
    // What a file written before the watcher kept its memory in it looks like.
    const raw = new Database(path);
    raw.exec(
      'DROP TABLE supervisors; DROP TABLE rule_firings; DROP TABLE group_rule_firings; DROP TABLE actions; PRAGMA user_version = 1',
    );
    for (const column of ['avg10', 'avg60', 'avg300', 'total'].flatMap((f) => [`some_${f}`, `full_${f}`]))
      raw.exec(`ALTER TABLE system_samples DROP COLUMN psi_${column}`);
    raw.exec('DROP INDEX process_samples_cgroup_psi');
    raw.exec(
      'ALTER TABLE process_samples DROP COLUMN cgroup_psi_some; ALTER TABLE process_samples DROP COLUMN cgroup_psi_full',
    );
    raw.close();

    const upgraded = openStore(path, { maintenanceIntervalMs: 0 });
    try {
      upgraded.saveSupervisor({ name: 'svc', restartWallMs: [T0], gaveUp: false });
      assert.deepEqual(upgraded.supervisor('svc'), { name: 'svc', restartWallMs: [T0], gaveUp: false });
      assert.ok(upgraded.events({ sinceMs: 0 }).some((e) => e.message === 'kept'));
    } finally {
      upgraded.close();
    }
    assert.equal(
      readRows<{ user_version: number }>(path, 'PRAGMA user_version')[0]?.user_version,
      SCHEMA_VERSION,
    );
  });
});
