import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { collectOwnGarbage, guard, type LeakEvent } from '../../src/runtimes/index.js';
import { start, waitForExit } from '../helpers/processes.js';

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-guard-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));
const DIST = new URL('../../dist/runtimes/index.js', import.meta.url).href;

describe('guard', () => {
  it('lets a guarded program emit its events and then exit on its own', async () => {
    const script = `
      import { guard } from ${JSON.stringify(DIST)};
      const g = guard({ heapUsedAbove: '1MB', intervalMs: 20, gc: true });
      g.on('threshold', (e) => console.log('threshold ' + e.metric));
      g.on('gc', (e) => console.log('gc ' + e.before.heapUsed + ' ' + e.after.heapUsed));
      let junk = Array.from({ length: 200000 }, (_, i) => ({ i }));
      setTimeout(() => { junk = null; }, 300);
    `;
    const child = start(process.execPath, ['--input-type=module', '-e', script]);
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await waitForExit(child);
    clearTimeout(timer);
    assert.equal(code, 0, `killed or failed: ${err}`);
    assert.match(out, /threshold heapUsed/);
    assert.match(out, /gc \d+ \d+/);
  });

  it('emits once per crossing, not on every check', () => {
    const g = guard({ heapUsedAbove: 1, intervalMs: 60_000 });
    try {
      const seen: string[] = [];
      g.on('threshold', (e) => seen.push(e.metric));
      assert.equal(g.check().length, 1);
      assert.equal(g.check().length, 0);
      assert.deepEqual(seen, ['heapUsed']);
    } finally {
      g.stop();
    }
  });

  it('writes a heap snapshot when a threshold is crossed', () => {
    const g = guard({ rssAbove: '1MB', snapshotDir: scratch, intervalMs: 60_000 });
    try {
      let path = '';
      g.on('snapshot', (e) => {
        path = e.path;
      });
      g.check();
      assert.ok(path.startsWith(scratch) && existsSync(path), `no snapshot at '${path}'`);
    } finally {
      g.stop();
    }
  });

  it('reports a leak once, through the trend detector, when the heap keeps growing', () => {
    // A minute between checks, as the interval says: a leak verdict needs minutes of evidence.
    let nowMs = 0;
    const g = guard({
      intervalMs: 60_000,
      cooldownMs: 3_600_000,
      leak: { limit: '4GiB' },
      clock: () => nowMs,
    });
    const kept: object[][] = [];
    try {
      const leaks: LeakEvent[] = [];
      g.on('leak', (e) => leaks.push(e));
      for (let i = 0; i < 40; i++) {
        kept.push(Array.from({ length: 20_000 }, (_, j) => ({ j })));
        nowMs += 60_000;
        g.check();
      }
      assert.equal(leaks.length, 1);
      assert.ok((leaks[0]?.slopeBytesPerSecond ?? 0) > 0);
      assert.ok((leaks[0]?.timeToLimitSeconds ?? 0) > 0);
    } finally {
      g.stop();
    }
    assert.equal(kept.length, 40);
  });

  it('collects its own garbage without --expose-gc', () => {
    let junk: object[] | null = Array.from({ length: 300_000 }, (_, i) => ({ i }));
    assert.equal(junk.length, 300_000);
    junk = null;
    const event = collectOwnGarbage();
    assert.ok(event.after.heapUsed < event.before.heapUsed, JSON.stringify(event));
  });
});
