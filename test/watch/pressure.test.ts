import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readPressure } from '../../src/proc/index.js';
import { quickConfig } from '../../src/watch/quick.js';
import { type Cycle, Watcher } from '../../src/watch/watcher.js';
import { canMakeMemoryCgroups, makeMemoryCgroup } from '../helpers/cgroups.js';
import { BIN } from '../helpers/cli.js';
import { pidOf, start, waitForExit, waitForLine, waitForLines, waitUntil } from '../helpers/processes.js';

const THRASH = new URL('../fixtures/page-thrash.py', import.meta.url).pathname;
const MiB = 1024 * 1024;
const skip = canMakeMemoryCgroups() ? false : 'needs root and a cgroup v1 memory controller';
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-pressure-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

describe('memory pressure', () => {
  it('agrees with the pressure file: a cycle reads it between a read before and one after', () => {
    const watcher = new Watcher(
      quickConfig({ patterns: ['no-such-proc-psi'], intervalMs: 1000, storePath: false }),
    );
    try {
      const before = readPressure();
      const tick = watcher.tick();
      const afterRead = readPressure();
      assert.ok(before && afterRead && tick.system.pressure, 'this kernel has PSI');
      for (const kind of ['some', 'full'] as const) {
        const seen = tick.system.pressure[kind]?.totalUs ?? -1;
        assert.ok((before[kind]?.totalUs ?? 0) <= seen && seen <= (afterRead[kind]?.totalUs ?? 0), kind);
      }
    } finally {
      watcher.close();
    }
  });

  it('a PSI trigger wakes a watcher with a long interval when a small cgroup thrashes', {
    skip,
  }, async () => {
    const watcher = new Watcher(
      quickConfig({ patterns: ['no-such-proc-psi'], intervalMs: 600_000, storePath: false }),
      {},
      { pressureTrigger: 'some 50000 2000000' },
    );
    const warnings: string[] = [];
    let thrashing = false;
    const woken = new Promise<Cycle>((resolve, reject) => {
      watcher.on('warning', (w) => {
        warnings.push(w);
        if (/no PSI trigger/.test(w)) reject(new Error(w));
        if (!/PSI trigger .* wakes the watcher/.test(w) || thrashing) return;
        thrashing = true;
        const cgroup = makeMemoryCgroup(32 * MiB);
        const child = start('python3', [THRASH, cgroup.dir, join(scratch, 'thrash.bin'), '96']);
        waitForLine(child, /ready/, 60_000).catch(reject);
      });
      watcher.on('tick', (tick) => {
        if (tick.wake === 'pressure') resolve(tick);
      });
    });
    const running = watcher.run();
    try {
      const tick = await woken;
      assert.equal(tick.wake, 'pressure');
      assert.ok(watcher.counters.pressureWakeups >= 1);
      assert.ok((tick.system.pressure?.some.totalUs ?? 0) > 0);
      assert.equal(warnings.filter((w) => w.startsWith('memory pressure:')).length, 1);
    } finally {
      watcher.stop();
      await running;
    }
  });

  it("ends the PSI trigger's waiting process when the watcher is killed", {
    skip: process.getuid?.() === 0 ? false : 'a PSI trigger needs root',
  }, async () => {
    const watcher = start(process.execPath, [
      BIN,
      'watch',
      '--match',
      `no-such-proc-psi-${process.pid}`,
      '--interval',
      '10m',
      '--no-store',
    ]);
    await waitForLines(watcher, /a PSI trigger .* wakes the watcher/, {
      stream: 'stderr',
      timeoutMs: 30_000,
    });
    const children = (parent: number) =>
      readdirSync('/proc')
        .filter((name) => /^\d+$/.test(name))
        .filter((name) => {
          try {
            const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
            return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
          } catch {
            return false;
          }
        })
        .map(Number);
    const [waiter] = children(pidOf(watcher));
    assert.ok(waiter !== undefined, 'the watcher runs a waiting process for its trigger');
    watcher.kill('SIGKILL');
    await waitForExit(watcher);
    // Gone, or a zombie left for init to reap: either way no longer waiting on the pressure file.
    const running = () => {
      try {
        const stat = readFileSync(`/proc/${waiter}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
      } catch {
        return false;
      }
    };
    await waitUntil('the waiter has ended', () => !running(), 20_000);
  });
});
