import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { describe, it } from 'node:test';
import { type ActionResult, ActionRunner } from '../../src/actions/index.js';
import type { WatchConfig } from '../../src/config/index.js';
import { guardFromFlags, parseConfig } from '../../src/config/index.js';
import { ProcReader } from '../../src/proc/index.js';
import type { GuardDecision } from '../../src/watch/guard.js';
import { Watcher } from '../../src/watch/watcher.js';
import { canMakeMemoryCgroups, makeMemoryCgroup, oomKillCount } from '../helpers/cgroups.js';
import { jsonRecords, runCli } from '../helpers/cli.js';
import { guardEvents } from '../helpers/guard-events.js';
import { isAlive, pidOf, start, waitForExit, waitForLine } from '../helpers/processes.js';

const HOG = new URL('../fixtures/cgroup-hog.py', import.meta.url).pathname;
const MiB = 1024 * 1024;
const skip = canMakeMemoryCgroups() ? false : 'needs root and a cgroup v1 memory controller';

interface Hog {
  child: ChildProcess;
  pid: number;
  grow(mib: number): Promise<void>;
}

async function hog(dir: string, tag: string, mib: number): Promise<Hog> {
  const child = start('python3', [HOG, dir, tag], { stdio: ['pipe', 'pipe', 'pipe'] });
  await waitForLine(child, /ready/);
  let total = 0;
  const grow = async (n: number) => {
    total += n;
    child.stdin?.write(`grow ${n}\n`);
    await waitForLine(child, new RegExp(`grown ${total}\\b`));
  };
  await grow(mib);
  return { child, pid: pidOf(child), grow };
}

/** A 300 MiB cgroup with a big neutral process, an avoided one and a preferred one that will grow. */
async function scene(tag: string) {
  const cgroup = makeMemoryCgroup(300 * MiB);
  const neutral = await hog(cgroup.dir, `${tag}-neutral`, 90);
  const avoided = await hog(cgroup.dir, `${tag}-avoided`, 40);
  const preferred = await hog(cgroup.dir, `${tag}-preferred`, 20);
  return { cgroup, neutral, avoided, preferred };
}

describe('the guard', () => {
  it('acts on the preferred process before the kernel does, only as far as needed, never on the avoided one', {
    skip,
  }, async () => {
    const tag = `guard-real-${process.pid}`;
    const { cgroup, neutral, avoided, preferred } = await scene(tag);
    const guard = guardFromFlags({
      scope: cgroup.dir,
      when: 'limit% > 70%',
      prefer: { substrings: [`${tag}-preferred`] },
      avoid: { substrings: [`${tag}-avoided`] },
      escalate: ['signal SIGTERM', 'wait 30s', 'signal SIGKILL'],
    });
    const config: WatchConfig = {
      file: '(test)',
      intervalMs: 200,
      retainMs: 86_400_000,
      store: { enabled: false },
      targets: [],
      rules: [],
      warnings: [],
      guard,
    };
    const runner = new ActionRunner({ identities: new ProcReader() });
    const watcher = new Watcher(config, { runner });
    const { events, ended } = guardEvents(watcher);
    // The preferred process grows by 10 MiB a cycle until the guard's first step has run, as a
    // runaway would: stopped at the decision, the usage could fall back under the line (the
    // cgroup's page cache is reclaimed) before the step's own re-check, and the chain end cleared.
    let growing = Promise.resolve();
    watcher.on('tick', () => {
      if (!events.some((e) => e.kind === 'guard-step') && isAlive(preferred.pid))
        growing = growing.then(() => preferred.grow(10)).catch(() => undefined);
    });
    const running = watcher.run();
    try {
      const end = await ended;
      const decision = events.find((e): e is GuardDecision => e.kind === 'guard-decision');
      assert.equal(decision?.victim?.pid, preferred.pid);
      assert.equal(decision?.victim?.preferred, true);
      // Preferred first although the neutral process holds more; the avoided one is never ranked.
      assert.equal(decision?.ranking[1]?.pid, neutral.pid);
      assert.ok(!decision?.ranking.some((c) => c.pid === avoided.pid));
      assert.ok(decision?.excluded.some((e) => e.pid === avoided.pid && e.why === 'matched by avoid'));
      assert.equal(end.pid, preferred.pid);
      assert.equal(end.result.end, 'gone');
      // SIGTERM was enough: the chain went no further.
      assert.deepEqual(
        end.result.steps.filter((s) => s.text.startsWith('signal')).map((s) => s.text),
        ['signal SIGTERM'],
      );
      await waitForExit(preferred.child);
      assert.equal(preferred.child.signalCode, 'SIGTERM');
      assert.equal(oomKillCount(cgroup.dir), 0, 'the kernel never had to kill');
      assert.ok(isAlive(avoided.pid) && isAlive(neutral.pid));
    } finally {
      watcher.stop();
      await running;
      await runner.close();
    }
  });

  it('--dry-run names the same victim and the ranking, and touches nothing', { skip }, async () => {
    const tag = `guard-dry-${process.pid}`;
    const { cgroup, neutral, avoided, preferred } = await scene(tag);
    const { code, stdout, stderr } = await runCli([
      'guard',
      '--scope',
      cgroup.dir,
      '--when',
      'limit% > 10%',
      '--prefer',
      `${tag}-preferred`,
      '--avoid',
      `${tag}-avoided`,
      '--dry-run',
      '--interval',
      '200ms',
      '--count',
      '3',
      '--json',
      '--no-store',
    ]);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /dry run: acts on nothing/);
    const decisions = jsonRecords<GuardDecision>(stdout, 'guard-decision');
    // Said once for the episode, not once per cycle.
    assert.equal(decisions.length, 1, stdout);
    const decision = decisions[0];
    assert.equal(decision?.victim?.pid, preferred.pid);
    assert.equal(decision?.dryRun, true);
    assert.deepEqual(
      decision?.ranking.map((c) => c.pid),
      [preferred.pid, neutral.pid],
    );
    assert.match(decision?.plan ?? '', /dry run/);
    assert.equal(jsonRecords(stdout, 'guard-step').length, 0);
    for (const p of [neutral, avoided, preferred]) assert.ok(isAlive(p.pid), `pid ${p.pid} untouched`);
  });

  it("holds its victim: a rule's destructive action on it in the guard's cycles is refused, not doubled", {
    skip,
  }, async () => {
    const tag = `guard-hold-${process.pid}`;
    const cgroup = makeMemoryCgroup(300 * MiB);
    const victim = await hog(cgroup.dir, `${tag}-victim`, 20);
    const { config, issues } = parseConfig(
      [
        'interval: 200ms',
        'store: false',
        'targets:',
        '  - name: hogs',
        `    match: ${tag}-victim`,
        '    rules:',
        '      - when: rss > 1MB',
        '        do: [signal SIGCONT]',
        'guard:',
        `  scope: { cgroup: ${cgroup.dir} }`,
        '  when: limit% > 1%',
        `  prefer: { patterns: [${tag}-victim] }`,
        // Harmless steps: the chain runs its course while the rule keeps firing beside it.
        '  escalate: [signal SIGCONT, wait 1s, signal SIGCONT]',
      ].join('\n'),
      '(test)',
    );
    assert.deepEqual(issues, []);
    assert.ok(config);
    const runner = new ActionRunner({ identities: new ProcReader() });
    const watcher = new Watcher(config, { runner }, { pressureTrigger: false });
    const ruleResults: ActionResult[] = [];
    watcher.on('action', (r) => {
      if (r.rule !== 'guard') ruleResults.push(r);
    });
    const { ended } = guardEvents(watcher);
    const running = watcher.run();
    try {
      const end = await ended;
      assert.equal(end.pid, victim.pid);
      // Both of the guard's steps went through, whatever the rule did in the same cycles.
      assert.deepEqual(
        end.result.steps.filter((s) => s.text.startsWith('signal')).map((s) => s.ok),
        [true, true],
      );
      // The rule fired in the guard's first cycle, after the guard had taken its victim.
      const first = ruleResults[0];
      assert.equal(first?.code, 'SUPPRESSED_OVERLAP', JSON.stringify(ruleResults));
      assert.equal(first?.message, `the guard acts on pid ${victim.pid} until its chain has ended`);
      assert.ok(ruleResults.every((r) => !r.ok));
    } finally {
      watcher.stop();
      await running;
      await runner.close();
    }
  });

  it('refuses a condition about one process, with exit code 2', async () => {
    const { code, stderr } = await runCli(['guard', '--when', 'rss > 1GB', '--count', '1']);
    assert.equal(code, 2);
    assert.match(stderr, /--when: 'rss' is not a measure of the guard's scope/);
  });
});
