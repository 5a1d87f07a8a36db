/**
 * The `leak` rule on real Node processes, through the watcher. A real warm-up takes minutes, so
 * these processes live 30 times faster than real ones (a 60 s GC cycle in 2 s, a 2-minute warm-up
 * in 4 s) and the watcher's trend clock runs 30 times faster to match (`trendTimeScale`): the
 * detector judges them at the scale it would judge real ones, in seconds of test time. Their
 * memory follows the wall clock, so a busy machine that delays timers does not bend the series.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WatchConfig } from '../../src/config/index.js';
import { compileRule, type RuleEvent } from '../../src/rules/index.js';
import type { ProcessTrend } from '../../src/watch/trends.js';
import { Watcher } from '../../src/watch/watcher.js';
import { pidOf, start, waitForLine } from '../helpers/processes.js';

const TIME_SCALE = 30;
const INTERVAL_MS = 100;

/**
 * Garbage at 12 MiB/s, collected at irregular times 1.5–2.5 s apart (45–75 s at full scale); a
 * warm-up that keeps 40 MiB more with a 4 s time constant; and `leakMiBPerSecond` kept for good.
 */
function program(leakMiBPerSecond: number): string {
  return `
const t0 = Date.now();
const kept = [];
let keptMiB = 0;
let garbage = [];
let garbageMiB = 0;
setInterval(() => {
  const s = (Date.now() - t0) / 1000;
  const wanted = 40 * (1 - Math.exp(-s / 4)) + ${leakMiBPerSecond} * s;
  while (keptMiB < wanted) { kept.push(Buffer.alloc(1 << 20, 1)); keptMiB++; }
  while (garbageMiB < 12 * s) { garbage.push(Buffer.alloc(1 << 18, 1)); garbageMiB += 0.25; }
}, 20);
(function collect() {
  setTimeout(() => { garbage = []; globalThis.gc(); collect(); }, 1500 + Math.random() * 1000);
})();
console.log('ready');
`;
}

function config(marker: string): WatchConfig {
  const rule = compileRule({ id: 'leak#1', target: 't', when: 'leak', do: ['log'] });
  return {
    file: '(test)',
    intervalMs: INTERVAL_MS,
    retainMs: 86_400_000,
    store: { enabled: false },
    targets: [{ name: 't', match: { substrings: [marker] }, rules: [rule] }],
    rules: [rule],
    warnings: [],
  };
}

interface Watched {
  events: RuleEvent[];
  views: ProcessTrend[];
}

/**
 * Watches the process until `done` says so, at the watcher's interval; `done` sees how many
 * minutes of the process's life (at full scale) the watcher has covered and what it saw.
 */
async function watch(
  script: string,
  marker: string,
  done: (minutes: number, seen: Watched) => boolean,
): Promise<Watched> {
  // Buffers this size are then mapped on their own, so a collected one gives its pages back.
  const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: String(128 * 1024) };
  const child = start(process.execPath, ['--expose-gc', '-e', script, marker], { env });
  await waitForLine(child, /^ready$/);
  const pid = pidOf(child);
  const watcher = new Watcher(config(marker), {}, { trendTimeScale: TIME_SCALE });
  const seen: Watched = { events: [], views: [] };
  try {
    for (;;) {
      const tick = watcher.tick();
      const process_ = tick.targets[0]?.processes.find((p) => p.pid === pid);
      assert.ok(process_, `pid ${pid} is not watched`);
      seen.events.push(...tick.events.filter((e) => e.identity?.pid === pid));
      const view = tick.trends.get(pid);
      if (view) seen.views.push(view);
      const minutes = ((tick.time - process_.startTime) * TIME_SCALE) / 60_000;
      if (done(minutes, seen)) return seen;
      await sleep(INTERVAL_MS);
    }
  } finally {
    watcher.close();
    child.kill('SIGKILL');
  }
}

describe('leak verdicts on real processes', () => {
  it('never fires leak on a warming process with a GC sawtooth in its first minutes', async () => {
    const seen = await watch(
      program(0),
      `memwarden-leak-verdict-warming-${process.pid}`,
      (minutes) => minutes >= 6,
    );
    const fired = seen.events.filter((e) => e.kind === 'fired');
    assert.equal(fired.length, 0, fired.map((e) => e.message).join('\n'));
    assert.ok(
      seen.views.every((v) => v.verdict !== 'leak'),
      seen.views.map((v) => v.reason).join('\n'),
    );
    // The verdicts were made on a real series, not on a handful of samples.
    const last = seen.views[seen.views.length - 1];
    assert.ok(last && last.points > 16, `too few points: ${last?.points}`);
  });

  it('fires once on a steadily leaking process and does not flap', async () => {
    let firedAtMinutes: number | undefined;
    const seen = await watch(program(4), `memwarden-leak-verdict-leaking-${process.pid}`, (minutes, s) => {
      if (firedAtMinutes === undefined && s.events.some((e) => e.kind === 'fired')) firedAtMinutes = minutes;
      // Five more minutes (several GC cycles) after it fired; a leak unseen in 40 minutes fails.
      return firedAtMinutes === undefined ? minutes >= 40 : minutes >= firedAtMinutes + 5;
    });
    const fired = seen.events.filter((e) => e.kind === 'fired');
    const resolved = seen.events.filter((e) => e.kind === 'resolved');
    assert.equal(fired.length, 1, fired.map((e) => `${e.message}${e.repeat ? ' (repeat)' : ''}`).join('\n'));
    assert.equal(resolved.length, 0, resolved.map((e) => e.message).join('\n'));
  });
});
