import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore, type Store } from '../../src/store/index.js';
import { start, waitForLine } from '../helpers/processes.js';
import { batchAt } from './samples.js';
import { tempDir } from './temp.js';

const LOCKER = fileURLToPath(new URL('../fixtures/store-locker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function lock(path: string): Promise<ChildProcess> {
  const child = start(process.execPath, ['--import', 'tsx', LOCKER, path], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  await waitForLine(child, /^locked$/, 20_000);
  return child;
}

async function release(locker: ChildProcess): Promise<void> {
  const released = waitForLine(locker, /^released$/);
  locker.stdin?.write('release\n');
  await released;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function storedBatches(store: Store): number {
  return store.history({ target: 'web', sinceMs: 0, maxPoints: 1_000_000 }).length;
}

describe('store on a locked file', () => {
  it('keeps appending without blocking and writes the backlog once the lock is gone (scenario 28)', async () => {
    const path = join(tempDir(), 'history.db');
    const alerts: Error[] = [];
    const store = openStore(path, {
      flushIntervalMs: 50,
      maintenanceIntervalMs: 0,
      onWriteError: (err) => alerts.push(err),
    });
    try {
      store.append(batchAt(1000));
      store.flush();
      const locker = await lock(path);
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const t0 = Date.now();
      let appended = 0;
      while (Date.now() - t0 < 1500) {
        store.append(batchAt(2000 + appended++));
        await new Promise((r) => setTimeout(r, 10));
      }
      delay.disable();
      const stats = store.stats();
      assert.ok(stats.writeErrors > 0, 'no write error while locked');
      assert.equal(stats.pendingBatches, appended);
      assert.equal(alerts.length, 1, 'one alert for one failing streak');
      assert.match(alerts[0]?.message ?? '', /locked|busy/i);
      // Generous: a blocking 5 s busy wait would show here; a 50 ms one cannot reach it.
      assert.ok(delay.max < 1e9, `event loop stalled ${delay.max / 1e6} ms`);

      await release(locker);
      await until(() => store.stats().pendingBatches === 0, 15_000);
      assert.equal(storedBatches(store), 1 + appended);
      assert.equal(store.stats().samplesDropped, 0);
    } finally {
      store.close();
    }
  });

  it('drops the oldest batches beyond the backlog cap and records the gap', async () => {
    const path = join(tempDir(), 'history.db');
    // batchAt gives 2 samples (one process, the machine): the cap holds 10 batches.
    const store = openStore(path, { flushIntervalMs: 50, maintenanceIntervalMs: 0, maxBacklogSamples: 20 });
    try {
      store.flush();
      const locker = await lock(path);
      for (let i = 0; i < 30; i++) store.append(batchAt(10_000 + i * 1000));
      assert.equal(store.flush().ok, false);
      assert.equal(store.stats().samplesDropped, 40);
      assert.equal(store.stats().pendingSamples, 20);
      await release(locker);
      await until(() => store.stats().pendingBatches === 0, 15_000);
      const times = store.history({ target: 'web', sinceMs: 0 }).map((p) => p.time);
      assert.deepEqual(
        times,
        Array.from({ length: 10 }, (_, i) => 10_000 + (20 + i) * 1000),
      );
      const gap = store.events({ sinceMs: 0 }).find((e) => e.kind === 'gap');
      assert.deepEqual(gap?.details, { samplesDropped: 40, eventsDropped: 0, fromMs: 10_000, toMs: 29_000 });
    } finally {
      store.close();
    }
  });
});
