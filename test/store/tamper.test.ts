import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MemwardenError } from '../../src/errors.js';
import { openHistory, openStore, SCHEMA_VERSION } from '../../src/store/index.js';
import { batchAt } from './samples.js';
import { tempDir } from './temp.js';

function isCode(code: string, message?: RegExp) {
  return (err: unknown) =>
    err instanceof MemwardenError &&
    err.code === code &&
    (message === undefined || message.test(err.message));
}

const GARBAGE = 'this is not a database\n'.repeat(200);

describe('store on a damaged or foreign file', () => {
  it('refuses a file written by a newer schema and leaves it untouched', () => {
    const path = join(tempDir(), 'history.db');
    openStore(path, { maintenanceIntervalMs: 0 }).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = readFileSync(path);
    assert.throws(() => openStore(path), isCode('MW_UNSUPPORTED', /newer memwarden/));
    assert.throws(() => openHistory(path), isCode('MW_UNSUPPORTED'));
    assert.deepEqual(readFileSync(path), before);
  });

  it('moves a garbage file aside with a timestamp and fails clearly', () => {
    const dir = tempDir();
    const path = join(dir, 'history.db');
    writeFileSync(path, GARBAGE);
    assert.throws(
      () => openStore(path),
      isCode('MW_INPUT', /corrupt.*moved to .*history\.db\.corrupt-\d{8}T\d{6}Z/),
    );
    assert.equal(existsSync(path), false);
    const moved = readdirSync(dir).filter((f) => f.startsWith('history.db.corrupt-'));
    assert.equal(moved.length, 1);
    assert.equal(readFileSync(join(dir, moved[0] ?? '')).toString(), GARBAGE);
  });

  it('starts a new file after moving a corrupt one aside when told to', () => {
    const dir = tempDir();
    const path = join(dir, 'history.db');
    writeFileSync(path, GARBAGE);
    const store = openStore(path, { recreateCorrupt: true, maintenanceIntervalMs: 0 });
    try {
      store.append(batchAt(1000));
      assert.equal(store.flush().ok, true);
    } finally {
      store.close();
    }
    assert.equal(readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 1);
  });

  it('does not move a corrupt file when only reading it', () => {
    const path = join(tempDir(), 'history.db');
    writeFileSync(path, GARBAGE);
    assert.throws(() => openHistory(path), isCode('MW_INPUT'));
    assert.equal(readFileSync(path).toString(), GARBAGE);
  });

  it("refuses another program's SQLite file without touching it", () => {
    const path = join(tempDir(), 'other.db');
    const db = new Database(path);
    db.exec('CREATE TABLE t (x)');
    db.close();
    assert.throws(() => openStore(path), isCode('MW_INPUT', /not a memwarden history file/));
    const again = new Database(path, { readonly: true });
    assert.equal(again.prepare('SELECT count(*) FROM sqlite_master').pluck().get(), 1);
    again.close();
  });

  it('creates nothing when reading a file that does not exist', () => {
    const dir = tempDir();
    const path = join(dir, 'sub', 'history.db');
    assert.throws(() => openHistory(path), isCode('MW_FAILED', /no history file/));
    assert.deepEqual(readdirSync(dir), []);
  });

  it('starts a new file when its file is deleted or replaced while open (scenario 30)', () => {
    const dir = tempDir();
    const path = join(dir, 'history.db');
    const alerts: Error[] = [];
    const store = openStore(path, { maintenanceIntervalMs: 0, onWriteError: (e) => alerts.push(e) });
    try {
      store.append(batchAt(1000));
      store.flush();
      renameSync(path, join(dir, 'elsewhere.db'));
      rmSync(`${path}-wal`, { force: true });
      store.maintain();
      assert.match(alerts[0]?.message ?? '', /removed or replaced/);
      store.append(batchAt(2000));
      assert.equal(store.flush().ok, true);
    } finally {
      store.close();
    }
    const reader = openHistory(path);
    try {
      assert.deepEqual(
        reader.history({ target: 'web', sinceMs: 0 }).map((p) => p.time),
        [2000],
      );
    } finally {
      reader.close();
    }
  });
});
