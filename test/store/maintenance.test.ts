import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/index.js';
import { batchAt, processSample, systemSample } from './samples.js';
import { tempDir } from './temp.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A round time, so that minute and 10-minute buckets line up with the test's arithmetic. */
const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);

function fill(path: string, fromMs: number, toMs: number, stepMs: number): void {
  const store = openStore(path, { maintenanceIntervalMs: 0, now: () => NOW });
  for (let time = fromMs; time < toMs; time += stepMs) {
    // rss alternates 100/300 within each minute: the average is 200, the extremes 100 and 300.
    const rss = (time / stepMs) % 2 === 0 ? 100 : 300;
    store.append({
      time,
      system: systemSample(time),
      processes: [{ target: 'web', sample: processSample({ time, rss }) }],
    });
    store.appendEvent({ time, kind: 'tick', message: 'x' });
  }
  store.close();
}

function rowsByResolution(path: string): Record<number, { rows: number; oldest: number }> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db
      .prepare(
        'SELECT resolution_ms AS r, count(*) AS n, min(time) AS oldest FROM process_samples GROUP BY resolution_ms',
      )
      .all() as Array<{ r: number; n: number; oldest: number }>;
    return Object.fromEntries(rows.map((x) => [x.r, { rows: x.n, oldest: x.oldest }]));
  } finally {
    db.close();
  }
}

describe('store retention and downsampling', () => {
  it('deletes what is older than retainMs and averages old rows into 1-minute and 10-minute buckets', () => {
    const path = join(tempDir(), 'history.db');
    // Three days at one sample every 30 s; retention is two days.
    fill(path, NOW - 3 * DAY, NOW, 30_000);
    const store = openStore(path, { maintenanceIntervalMs: 0, retainMs: 2 * DAY, now: () => NOW });
    try {
      let result = store.maintain();
      while (result.more) result = store.maintain();
      assert.equal(store.stats().maintenanceErrors, 0);

      const byRes = rowsByResolution(path);
      // The last hour stays raw: 120 samples.
      assert.equal(byRes[0]?.rows, 120);
      assert.equal(byRes[0]?.oldest, NOW - HOUR);
      // From 1 h to 1 day: one row per minute.
      assert.equal(byRes[60_000]?.rows, 23 * 60);
      // From 1 day to the 2-day retention: one row per 10 minutes.
      assert.equal(byRes[600_000]?.rows, 24 * 6);
      assert.equal(byRes[600_000]?.oldest, NOW - 2 * DAY);

      const db = new Database(path, { readonly: true });
      try {
        const minute = db
          .prepare(
            'SELECT rss, rss_min, rss_max, samples FROM process_samples WHERE resolution_ms = 60000 LIMIT 1',
          )
          .get();
        assert.deepEqual(minute, { rss: 200, rss_min: 100, rss_max: 300, samples: 2 });
        const tenMinutes = db
          .prepare(
            'SELECT rss, rss_min, rss_max, samples FROM process_samples WHERE resolution_ms = 600000 LIMIT 1',
          )
          .get();
        assert.deepEqual(tenMinutes, { rss: 200, rss_min: 100, rss_max: 300, samples: 20 });
        const system = db
          .prepare('SELECT count(*) FROM system_samples WHERE resolution_ms = 600000')
          .pluck()
          .get();
        assert.equal(system, 24 * 6);
        const oldestEvent = db.prepare('SELECT min(time) FROM events').pluck().get() as number;
        assert.ok(oldestEvent >= NOW - 2 * DAY);
      } finally {
        db.close();
      }

      // A query over the whole range sees the averages, not the dropped detail.
      const points = store.history({ target: 'web', sinceMs: NOW - 3 * DAY, maxPoints: 100_000 });
      assert.equal(points.length, 120 + 23 * 60 + 24 * 6);
      assert.ok(points.every((p) => p.rss !== undefined && p.rss >= 100 && p.rss <= 300));

      // Nothing left to do: a second pass changes nothing.
      assert.deepEqual(store.maintain(), { deletedRows: 0, downsampledRows: 0, more: false });
    } finally {
      store.close();
    }
  });

  it('stops when its time budget is spent and goes on where it stopped', () => {
    const path = join(tempDir(), 'history.db');
    fill(path, NOW - 6 * HOUR, NOW, 1000);
    const store = openStore(path, {
      maintenanceIntervalMs: 0,
      maintenanceBudgetMs: 0,
      now: () => NOW,
    });
    try {
      let runs = 1;
      let result = store.maintain();
      assert.equal(result.more, true);
      while (result.more && runs < 10_000) {
        result = store.maintain();
        runs++;
      }
      assert.equal(result.more, false);
      assert.ok(runs > 2, `took ${runs} runs`);
      assert.equal(rowsByResolution(path)[60_000]?.rows, 5 * 60);
    } finally {
      store.close();
    }
  });

  it('keeps every raw row when downsampling is turned off', () => {
    const path = join(tempDir(), 'history.db');
    fill(path, NOW - 2 * HOUR, NOW, 60_000);
    const store = openStore(path, { maintenanceIntervalMs: 0, downsample: [], now: () => NOW });
    try {
      store.maintain();
      assert.deepEqual(Object.keys(rowsByResolution(path)), ['0']);
    } finally {
      store.close();
    }
  });

  it('brings the WAL back down once a long reader has ended', () => {
    const path = join(tempDir(), 'history.db');
    const store = openStore(path, { maintenanceIntervalMs: 0, now: () => NOW });
    const reader = new Database(path, { readonly: true });
    try {
      store.append(batchAt(NOW));
      store.flush();
      // An open read transaction pins the WAL: no checkpoint can get past its snapshot.
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM process_samples').get();
      for (let i = 1; i <= 100; i++) {
        store.append(batchAt(NOW + i * 1000, 200));
        store.flush();
      }
      store.maintain();
      const pinned = statSync(`${path}-wal`).size;
      assert.ok(pinned > 1024 * 1024, `WAL only ${pinned} bytes`);
      reader.exec('COMMIT');
      store.maintain();
      assert.equal(statSync(`${path}-wal`).size, 0);
    } finally {
      reader.close();
      store.close();
    }
  });
});
