import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { runCli } from '../helpers/cli.js';
import { processSample, systemSample } from './samples.js';
import { tempDir } from './temp.js';

/** A store with ten minutes of samples, one per minute, ending now; left open like a watcher's. */
function watcherStore(path: string) {
  const store = openStore(path, { maintenanceIntervalMs: 0 });
  const now = Date.now();
  for (let i = 10; i >= 1; i--) {
    const time = now - i * 60_000;
    store.append({
      time,
      system: systemSample(time),
      processes: [
        {
          target: 'web',
          sample: processSample({ time, rss: 100_000_000 + i, cpuPercent: 5, memPercent: 1.5 }),
        },
        { target: 'db', sample: processSample({ pid: 99, time, rss: 1_000 }) },
      ],
    });
  }
  store.flush();
  return store;
}

describe('memwarden history', () => {
  it('prints a JSON array while a watcher holds the file open', async () => {
    const path = join(tempDir(), 'history.db');
    const store = watcherStore(path);
    try {
      const r = await runCli(['history', 'web', '--since', '1h', '--store', path, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const points = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
      assert.equal(points.length, 10);
      assert.deepEqual(Object.keys(points[0] ?? {}), [
        'time',
        'target',
        'pid',
        'startTicks',
        'rss',
        'vms',
        'cpuPercent',
        'memPercent',
        'threads',
        'total',
      ]);
      assert.equal(points[0]?.target, 'web');
      assert.equal(points[0]?.pid, 4242);
      assert.equal(typeof points[0]?.time, 'number');
    } finally {
      store.close();
    }
  });

  it('prints a table for a pid and narrows the range with --since', async () => {
    const path = join(tempDir(), 'history.db');
    watcherStore(path).close();
    const r = await runCli(['history', '99', '--since', '330s', '--store', path]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^TIME\s+PID\s+RSS\s+PSS\s+MEM%\s+CPU%$/);
    assert.equal(lines.length, 1 + 5);
    assert.match(lines[1] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+99\s+1000 B/);
  });

  it('fails in one line, exit 1, without creating a file, when there is no history', async () => {
    const dir = tempDir();
    const r = await runCli(['history', 'web', '--since', '1h'], {
      env: { ...process.env, XDG_STATE_HOME: dir },
    });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `memwarden history: no history file at ${join(dir, 'memwarden', 'history.db')} (is a watcher storing there? see --store)\n`,
    );
    assert.deepEqual(readdirSync(dir), []);
  });

  it('exits 2 for a bad --since and 1 for an unknown target', async () => {
    const path = join(tempDir(), 'history.db');
    watcherStore(path).close();
    const bad = await runCli(['history', 'web', '--since', 'yesterday', '--store', path]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^memwarden history: invalid duration 'yesterday'/);
    assert.equal(bad.stderr.split('\n').length, 2);
    const unknown = await runCli(['history', 'nginx', '--store', path]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, "memwarden history: no history for target 'nginx' (known: db, web)\n");
    const missingArg = await runCli(['history', '--store', path]);
    assert.equal(missingArg.code, 2);
    assert.equal(existsSync(`${path}-wal`), false);
  });
});
