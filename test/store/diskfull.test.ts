import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { StoreStats } from '../../src/store/index.js';
import { start, waitForExit, waitForLine } from '../helpers/processes.js';
import { tempDir } from './temp.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/store-diskfull.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A private mount namespace lets the test mount a small tmpfs without touching the host. */
const canMount = spawnSync('unshare', ['-rm', 'true']).status === 0;

interface Report {
  fullCode?: string;
  whileFull: StoreStats;
  afterFree: StoreStats;
  alerts: string[];
  integrity: string;
  gaps: number;
}

describe('store on a full disk', () => {
  it('counts errors, bounds the backlog and resumes when space is freed (scenario 27)', {
    skip: canMount ? false : 'needs unshare -rm (user and mount namespaces) to mount a small tmpfs',
  }, async () => {
    const dir = tempDir();
    const script = `mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" --import tsx "$3" "$1"`;
    const child = start('unshare', ['-rm', 'sh', '-c', script, 'sh', dir, process.execPath, FIXTURE], {
      cwd: ROOT,
    });
    const line = await waitForLine(child, /^\{/, 60_000);
    await waitForExit(child);
    const report = JSON.parse(line) as Report;
    assert.equal(report.fullCode, 'SQLITE_FULL');
    assert.ok(report.whileFull.writeErrors > 0);
    assert.ok(report.whileFull.samplesDropped > 0, 'backlog was not bounded');
    assert.ok(report.whileFull.pendingSamples <= 2000);
    assert.equal(report.alerts.length, 1, report.alerts.join('\n'));
    assert.equal(report.afterFree.pendingBatches, 0, 'backlog not written after space was freed');
    assert.equal(report.integrity, 'ok');
    assert.equal(report.gaps, 1);
  });
});
