/**
 * RELIABILITY.md scenario 29: WAL growth and checkpoint starvation, with the long reader in
 * another process (as a dashboard or an operator's sqlite3 would be) rather than a second
 * connection of ours, and a retention pass over old rows watched after each of its steps.
 * Scaled down from the scenario's 10k samples/s and 10M rows so that it fits the suite: what is
 * checked (a pinned WAL, its truncation once the reader ends, steps that each stay small) does
 * not depend on the count.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { JOURNAL_SIZE_LIMIT_BYTES, openStore } from '../../src/store/index.js';
import { start, waitForExit, waitForLine } from '../helpers/processes.js';
import { batchAt } from '../store/samples.js';
import { tempDir } from '../store/temp.js';

const REPO = new URL('../../', import.meta.url).pathname;
const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);

/** A read transaction held open in another process until its stdin closes. */
const READER = `
import Database from 'better-sqlite3';
const db = new Database(process.argv[1], { readonly: true });
db.exec('BEGIN');
db.prepare('SELECT count(*) FROM process_samples').get();
console.log('holding');
process.stdin.resume();
process.stdin.on('end', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`;

function walBytes(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

describe('WAL growth and checkpoint starvation (scenario 29)', () => {
  it('scenario 29: a reader in another process pins the WAL; once it ends, the next maintenance truncates it', async () => {
    const path = join(tempDir(), 'history.db');
    const store = openStore(path, { maintenanceIntervalMs: 0, now: () => NOW });
    try {
      store.append(batchAt(NOW));
      store.flush();
      const reader = start(process.execPath, ['--input-type=module', '-e', READER, path], {
        cwd: REPO,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      await waitForLine(reader, /^holding$/);
      for (let i = 1; i <= 100; i++) {
        store.append(batchAt(NOW + i * 1000, 200));
        store.flush();
      }
      // Writes went on while the reader held its snapshot: nothing was refused or dropped.
      assert.equal(store.stats().pendingBatches, 0);
      store.maintain();
      const pinned = walBytes(path);
      assert.ok(pinned > 1024 * 1024, `the WAL is only ${pinned} bytes while pinned`);
      const exited = waitForExit(reader);
      reader.stdin?.end();
      assert.equal(await exited, 0);
      store.maintain();
      assert.equal(walBytes(path), 0, 'the WAL is truncated once no reader pins it');
    } finally {
      store.close();
    }
  });

  it('scenario 29: retention deletes 100k old rows in small steps, the WAL never past its limit', () => {
    const path = join(tempDir(), 'history.db');
    const writer = openStore(path, { maintenanceIntervalMs: 0, now: () => NOW });
    try {
      // 200 processes a second for 500 s, all of it older than the retention below.
      for (let i = 0; i < 500; i++) writer.append(batchAt(NOW - 2 * HOUR + i * 1000, 200));
      writer.flush();
    } finally {
      writer.close();
    }
    const store = openStore(path, {
      maintenanceIntervalMs: 0,
      maintenanceBudgetMs: 5,
      retainMs: HOUR,
      downsample: [],
      now: () => NOW,
    });
    try {
      let steps = 0;
      let deleted = 0;
      let largestWal = 0;
      let result = store.maintain();
      for (;;) {
        steps++;
        deleted += result.deletedRows;
        largestWal = Math.max(largestWal, walBytes(path));
        if (!result.more || steps >= 100_000) break;
        result = store.maintain();
      }
      assert.equal(result.more, false);
      assert.ok(deleted >= 100_000, `deleted ${deleted} rows`);
      assert.ok(steps > 1, 'one step took the whole deletion');
      assert.ok(largestWal <= JOURNAL_SIZE_LIMIT_BYTES, `the WAL reached ${largestWal} bytes`);
      assert.equal(walBytes(path), 0);
    } finally {
      store.close();
    }
  });
});
