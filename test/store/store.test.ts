import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { MemwardenError } from '../../src/errors.js';
import { redact, redactedArgv } from '../../src/redact.js';
import { defaultStorePath, openHistory, openStore } from '../../src/store/index.js';
import { batchAt, processSample, systemSample, walCommits } from './samples.js';
import { tempDir } from './temp.js';

const T0 = 1_700_000_000_000;

describe('store', () => {
  it('round-trips process samples, system samples, events and targets', () => {
    const path = join(tempDir(), 'state', 'memwarden', 'history.db');
    const store = openStore(path, {
      createDirectory: true,
      maintenanceIntervalMs: 0,
      now: () => T0 + 60_000,
    });
    try {
      store.append({
        time: T0,
        system: systemSample(T0),
        processes: [
          {
            target: 'web',
            sample: processSample({
              time: T0,
              pss: 80_000_000,
              uss: 70_000_000,
              swap: 0,
              memLimitPercent: 50,
            }),
          },
          { target: 'db', sample: processSample({ pid: 7, name: 'redis-server', time: T0, rss: 5_000_000 }) },
        ],
      });
      store.appendEvent({
        time: T0 + 1,
        kind: 'rule-fired',
        target: 'web',
        pid: 4242,
        rule: 'rss > 50MB',
        message: 'rss 100 MB > 50 MB',
        details: { rss: 100_000_000 },
      });
      assert.equal(store.flush().ok, true);

      assert.deepEqual(store.history({ target: 'web', sinceMs: T0 - 1 }), [
        {
          time: T0,
          target: 'web',
          pid: 4242,
          startTicks: 12345,
          rss: 100_000_000,
          pss: 80_000_000,
          uss: 70_000_000,
          swap: 0,
          vms: 900_000_000,
          cpuPercent: 12.5,
          memPercent: 1.25,
          memLimitPercent: 50,
          threads: 7,
        },
      ]);
      assert.deepEqual(
        store.history({ pid: 7, sinceMs: T0 - 1 }).map((p) => [p.target, p.rss]),
        [['db', 5_000_000]],
      );
      assert.deepEqual(store.history({ target: 'web', sinceMs: T0 + 1 }), []);
      assert.deepEqual(store.history({ target: 'nope', sinceMs: 0 }), []);
      assert.equal(store.system({ sinceMs: 0 })[0]?.memAvailable, 5_000_000_000);
      const [event] = store.events({ sinceMs: 0 });
      assert.equal(event?.kind, 'rule-fired');
      assert.deepEqual(event?.details, { rss: 100_000_000 });
      assert.deepEqual(
        store.targets().map((t) => t.target),
        ['db', 'web'],
      );
    } finally {
      store.close();
    }
  });

  it('creates its default directory 0700 and its files 0600', () => {
    const dir = join(tempDir(), 'memwarden');
    const path = join(dir, 'history.db');
    const store = openStore(path, { createDirectory: true, maintenanceIntervalMs: 0 });
    try {
      store.append(batchAt(T0));
      store.flush();
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      for (const file of [path, `${path}-wal`, `${path}-shm`])
        assert.equal(statSync(file).mode & 0o777, 0o600, file);
    } finally {
      store.close();
    }
  });

  it('masks secret-looking arguments; the store keeps a command line as the sampler redacted it', () => {
    assert.deepEqual(
      redact([
        'app',
        '--password=hunter2',
        '--api-key',
        'abc',
        'DB_PASSWORD=x',
        '-p',
        'pw',
        'postgres://me:pw@db/x',
        '--verbose',
      ]),
      [
        'app',
        '--password=***',
        '--api-key',
        '***',
        'DB_PASSWORD=***',
        '-p',
        '***',
        'postgres://me:***@db/x',
        '--verbose',
      ],
    );
    const path = join(tempDir(), 'history.db');
    const store = openStore(path, { maintenanceIntervalMs: 0 });
    store.append({
      time: T0,
      processes: [
        { target: 'web', sample: processSample({ cmdline: redactedArgv(['node', '--token=s3cret', 'x']) }) },
      ],
    });
    store.close();
    const db = new Database(path, { readonly: true });
    try {
      const cmdline = db.prepare('SELECT cmdline FROM processes').pluck().get();
      assert.equal(cmdline, JSON.stringify(['node', '--token=***', 'x']));
    } finally {
      db.close();
    }
  });

  it('writes everything buffered since the last flush in one transaction', () => {
    const path = join(tempDir(), 'history.db');
    const store = openStore(path, { maintenanceIntervalMs: 0, flushIntervalMs: 60_000 });
    try {
      store.flush();
      const before = walCommits(path);
      for (let i = 0; i < 50; i++) store.append(batchAt(T0 + i * 1000, 20));
      store.appendEvent({ time: T0, kind: 'action', message: 'gc done' });
      const result = store.flush();
      assert.equal(result.ok, true);
      assert.equal(result.batchIds.length, 50);
      assert.equal(walCommits(path) - before, 1);
      assert.equal(store.history({ target: 'web', sinceMs: 0, maxPoints: 10_000 }).length, 50 * 20);
    } finally {
      store.close();
    }
  });

  it('flushes early once enough samples are buffered', async () => {
    const path = join(tempDir(), 'history.db');
    const store = openStore(path, { maintenanceIntervalMs: 0, flushIntervalMs: 60_000, flushSamples: 100 });
    try {
      store.append(batchAt(T0, 150));
      assert.equal(store.stats().pendingBatches, 1);
      await nextTurn();
      assert.equal(store.stats().pendingBatches, 0);
      assert.equal(store.stats().batchesWritten, 1);
    } finally {
      store.close();
    }
  });

  it('writes a large backlog in several bounded transactions, each on its own turn', async () => {
    const path = join(tempDir(), 'history.db');
    const store = openStore(path, { maintenanceIntervalMs: 0, flushIntervalMs: 60_000, flushSamples: 100 });
    try {
      // 49 processes and the machine: 50 samples a batch, two batches a flush.
      for (let i = 0; i < 10; i++) store.append(batchAt(T0 + i * 1000, 49));
      assert.deepEqual(store.flush().batchIds, [1, 2]);
      assert.equal(store.stats().pendingBatches, 8);
      for (let turn = 0; turn < 10 && store.stats().pendingBatches > 0; turn++) await nextTurn();
      assert.equal(store.stats().pendingBatches, 0);
      assert.equal(store.stats().batchesWritten, 10);
    } finally {
      store.close();
    }
  });

  it('writes what is buffered on close', () => {
    const path = join(tempDir(), 'history.db');
    const store = openStore(path, { maintenanceIntervalMs: 0, flushIntervalMs: 60_000 });
    store.append(batchAt(T0));
    const stats = store.close();
    assert.equal(stats.pendingBatches, 0);
    const reader = openHistory(path);
    try {
      assert.equal(reader.history({ target: 'web', sinceMs: 0 }).length, 1);
    } finally {
      reader.close();
    }
  });

  it('averages a long range down to maxPoints per process', () => {
    const path = join(tempDir(), 'history.db');
    const store = openStore(path, { maintenanceIntervalMs: 0 });
    try {
      for (let i = 0; i < 600; i++) {
        const time = T0 + i * 1000;
        store.append({
          time,
          processes: [{ target: 'web', sample: processSample({ time, rss: i < 300 ? 100 : 300 }) }],
        });
      }
      store.flush();
      const points = store.history({ target: 'web', sinceMs: T0, untilMs: T0 + 600_000, maxPoints: 2 });
      assert.deepEqual(
        points.map((p) => [p.time, p.rss]),
        [
          [T0, 100],
          [T0 + 300_000, 300],
        ],
      );
    } finally {
      store.close();
    }
  });

  it('keeps its file under XDG_STATE_HOME, or ~/.local/state without it', () => {
    assert.equal(defaultStorePath({ XDG_STATE_HOME: '/s' }), '/s/memwarden/history.db');
    assert.equal(defaultStorePath({ HOME: '/home/u' }), '/home/u/.local/state/memwarden/history.db');
    assert.equal(
      defaultStorePath({ HOME: '/home/u', XDG_STATE_HOME: 'relative' }),
      '/home/u/.local/state/memwarden/history.db',
    );
  });

  it('refuses nonsense options before creating anything', () => {
    const path = join(tempDir(), 'history.db');
    const badValue = (e: unknown) => e instanceof MemwardenError && e.code === 'MW_BAD_VALUE';
    assert.throws(() => openStore(path, { retainMs: 0 }), badValue);
    assert.throws(
      () => openStore(path, { downsample: [{ olderThanMs: 3_600_000, resolutionMs: 0.5 }] }),
      badValue,
    );
    assert.throws(() => openStore(path, { busyTimeoutMs: -1 }), badValue);
    assert.equal(existsSync(path), false);
  });
});
