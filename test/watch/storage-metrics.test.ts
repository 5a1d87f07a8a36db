import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { WatchConfig } from '../../src/config/index.js';
import { renderMetrics } from '../../src/export/index.js';
import { openStore } from '../../src/store/index.js';
import { toExportTick } from '../../src/watch/export-tick.js';
import { Watcher } from '../../src/watch/watcher.js';
import { start, waitForLine } from '../helpers/processes.js';

const LOCKER = fileURLToPath(new URL('../fixtures/store-locker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-storage-metrics-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

function metric(text: string, name: string): number {
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
  assert.ok(value !== undefined, `${name} is not in the exposition`);
  return Number(value);
}

describe('storage health on /metrics (issue 10, point 10c)', () => {
  it('counts failed history writes and dropped samples while another program locks the file', async () => {
    const path = join(scratch, 'history.db');
    const store = openStore(path, { flushIntervalMs: 20, maintenanceIntervalMs: 0, maxBacklogSamples: 5 });
    const config: WatchConfig = {
      file: '(test)',
      intervalMs: 100,
      retainMs: 86_400_000,
      store: { enabled: true },
      // Every process: enough samples per tick to overflow a backlog of five.
      targets: [{ name: 'all', match: { all: true }, rules: [] }],
      rules: [],
      warnings: [],
    };
    const watcher = new Watcher(config, { store });
    let locker: ChildProcess | undefined;
    try {
      const first = renderMetrics(toExportTick(watcher.tick(), watcher.counters));
      assert.equal(metric(first, 'memwarden_storage_write_errors_total'), 0);
      assert.equal(metric(first, 'memwarden_samples_dropped_total'), 0);
      store.flush();
      locker = start(process.execPath, ['--import', 'tsx', LOCKER, path], {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      await waitForLine(locker, /^locked$/, 20_000);
      let text = first;
      const deadline = Date.now() + 20_000;
      while (metric(text, 'memwarden_storage_write_errors_total') === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        text = renderMetrics(toExportTick(watcher.tick(), watcher.counters));
      }
      assert.ok(metric(text, 'memwarden_storage_write_errors_total') > 0, text);
      assert.ok(metric(text, 'memwarden_samples_dropped_total') > 0, text);
    } finally {
      locker?.kill('SIGKILL');
      watcher.close();
      store.close();
    }
  });
});
