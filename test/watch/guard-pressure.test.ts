import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ActionRunner } from '../../src/actions/index.js';
import { guardFromFlags, type WatchConfig } from '../../src/config/index.js';
import { ProcReader } from '../../src/proc/index.js';
import type { GuardDecision } from '../../src/watch/guard.js';
import { type Cycle, Watcher } from '../../src/watch/watcher.js';
import {
  canMakeMemoryCgroups,
  makeMemoryCgroup,
  makeUnifiedCgroup,
  moveInto,
  whyNoUnifiedPressure,
} from '../helpers/cgroups.js';
import { guardEvents } from '../helpers/guard-events.js';
import { pidOf, start, waitForExit, waitForLine } from '../helpers/processes.js';

const THRASH = new URL('../fixtures/page-thrash.py', import.meta.url).pathname;
const MiB = 1024 * 1024;
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-guard-psi-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

/**
 * The stall must be made by a memory limit: on a hybrid host (cgroup v2 without the memory
 * controller) a v1 memory cgroup's, while the v2 group still records the stall as its own.
 */
function whyNoScopePressure(): string | undefined {
  const v2 = whyNoUnifiedPressure();
  if (v2 !== undefined) return v2;
  if (!canMakeMemoryCgroups()) return 'no cgroup v1 memory controller to make a small limit with';
  return undefined;
}

function configFor(guard: WatchConfig['guard']): WatchConfig {
  return {
    file: '(test)',
    intervalMs: 600_000,
    retainMs: 86_400_000,
    store: { enabled: false },
    targets: [],
    rules: [],
    warnings: [],
    ...(guard ? { guard } : {}),
  };
}

describe("the guard's PSI trigger on its cgroup scope", () => {
  it("wakes on the v2 group's own memory.pressure and acts at once at a 10 min interval", {
    skip: whyNoScopePressure(),
  }, async () => {
    const tag = `guard-psi-${process.pid}`;
    const group = makeUnifiedCgroup();
    const limit = makeMemoryCgroup(32 * MiB);
    const file = join(scratch, 'thrash.bin');
    writeFileSync(file, '');
    const guard = guardFromFlags({
      scope: group.dir,
      when: 'psi.some > 1%',
      prefer: { substrings: [tag] },
      escalate: ['signal SIGTERM'],
    });
    // The machine's trigger is off: only the group's can wake this watcher.
    const watcher = new Watcher(
      configFor(guard),
      { runner: new ActionRunner({ identities: new ProcReader() }) },
      { pressureTrigger: false, scopePressureTrigger: 'some 50000 2000000' },
    );
    const warnings: string[] = [];
    let thrasher: ReturnType<typeof start> | undefined;
    const woken = new Promise<Cycle>((resolve, reject) => {
      watcher.on('warning', (w) => {
        warnings.push(w);
        if (/no PSI trigger/.test(w)) reject(new Error(w));
        if (!/^guard scope .*PSI trigger .* wakes the watcher/.test(w) || thrasher) return;
        thrasher = start('python3', [THRASH, limit.dir, file, '96', tag]);
        waitForLine(thrasher, /ready/, 60_000)
          .then(() => moveInto(group, pidOf(thrasher as NonNullable<typeof thrasher>)))
          .catch(reject);
      });
      watcher.on('tick', (tick) => {
        if (tick.wake === 'pressure') resolve(tick);
      });
    });
    const { events, ended } = guardEvents(watcher);
    const running = watcher.run();
    try {
      const tick = await woken;
      assert.equal(tick.wokenBy, `${group.dir}/memory.pressure`);
      const end = await ended;
      const decision = events.find((e): e is GuardDecision => e.kind === 'guard-decision');
      assert.equal(decision?.victim?.pid, pidOf(thrasher as NonNullable<typeof thrasher>));
      assert.match(decision?.readings ?? '', /^psi\.some \d+\.\d%$/);
      // Its one step was sent; the chain ends there, with nothing after it to wait for.
      assert.equal(end.result.end, 'completed');
      await waitForExit(thrasher as NonNullable<typeof thrasher>);
      assert.equal(thrasher?.signalCode, 'SIGTERM');
      // Woken well before its 10-minute slot: the first cycle is the only scheduled one.
      assert.equal(watcher.counters.cycles - watcher.counters.pressureWakeups, 1);
    } finally {
      watcher.stop();
      await running;
      thrasher?.kill('SIGKILL');
    }
  });

  it('says a v1 scope keeps no pressure file and is measured once a cycle', {
    skip: canMakeMemoryCgroups() ? false : 'needs root and a cgroup v1 memory controller',
  }, async () => {
    const limit = makeMemoryCgroup(64 * MiB);
    const watcher = new Watcher(
      configFor(guardFromFlags({ scope: limit.dir, when: 'limit% > 99%' })),
      {},
      { pressureTrigger: false, scopePressureTrigger: 'some 500000 2000000' },
    );
    const warnings: string[] = [];
    watcher.on('warning', (w) => warnings.push(w));
    await watcher.run(1);
    assert.deepEqual(
      warnings.filter((w) => w.startsWith('guard scope')),
      [
        `guard scope ${limit.dir}: measured once a cycle (it keeps no memory.pressure: cgroup v1, or a kernel without PSI)`,
      ],
    );
  });
});
