import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseKmsgRecord } from '../../src/proc/index.js';
import { compileRule } from '../../src/rules/index.js';
import { quickConfig } from '../../src/watch/quick.js';
import { type Cycle, Watcher } from '../../src/watch/watcher.js';
import { canMakeMemoryCgroups, makeMemoryCgroup, oomKillCount } from '../helpers/cgroups.js';
import { BIN, CLI_ENV } from '../helpers/cli.js';
import { pidOf, start, waitForExit, waitForLine, waitForLines } from '../helpers/processes.js';

const HOG = new URL('../fixtures/cgroup-hog.py', import.meta.url).pathname;
const MiB = 1024 * 1024;
const skip = canMakeMemoryCgroups() ? false : 'needs root and a cgroup v1 memory controller';

/** A Python process in its own 64 MiB cgroup, holding 20 MiB, waiting to be told to hog. */
async function hogInCgroup(tag: string): Promise<{ child: ChildProcess; pid: number; dir: string }> {
  const cgroup = makeMemoryCgroup(64 * MiB);
  const child = start('python3', [HOG, cgroup.dir, tag], { stdio: ['pipe', 'pipe', 'pipe'] });
  await waitForLine(child, /ready/);
  child.stdin?.write('grow 20\n');
  await waitForLine(child, /grown 20/);
  return { child, pid: pidOf(child), dir: cgroup.dir };
}

describe('OOM kills', () => {
  it('parses the kernel log records of a kill, summary and victim line', () => {
    const summary = parseKmsgRecord(
      '6,5012,912345678,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/b,task=python3,pid=4242,uid=0\n',
    );
    assert.deepEqual(summary, {
      kind: 'summary',
      kill: {
        constraint: 'CONSTRAINT_MEMCG',
        oomMemcg: '/a',
        taskMemcg: '/a/b',
        name: 'python3',
        pid: 4242,
        timeUs: 912345678,
      },
    });
    const killed = parseKmsgRecord(
      '3,5013,912345700,-;Memory cgroup out of memory: Killed process 4242 (python3) total-vm:80000kB, anon-rss:60000kB, file-rss:4000kB, shmem-rss:0kB, UID:0 pgtables:200kB oom_score_adj:0\n',
    );
    assert.equal(killed?.kind, 'killed');
    assert.equal(killed?.kill.pid, 4242);
    assert.equal(killed?.kill.anonRssBytes, 60000 * 1024);
    assert.equal(parseKmsgRecord('6,1,2,-;EXT4-fs (vda): mounted filesystem\n'), undefined);
  });

  it('watch --json names the killed process and its target, and /metrics counts it', { skip }, async () => {
    const tag = `oom-json-${process.pid}`;
    const hog = await hogInCgroup(tag);
    const watch = start(
      process.execPath,
      [
        BIN,
        'watch',
        '--match',
        tag,
        '--interval',
        '300ms',
        '--json',
        '--no-store',
        '--listen',
        '127.0.0.1:0',
      ],
      { env: CLI_ENV },
    );
    const [listening] = await waitForLines(watch, /dashboard on/, { stream: 'stderr' });
    const url = /dashboard on (\S+),/.exec(listening ?? '')?.[1];
    assert.ok(url, listening);
    const [seen] = await waitForLines(watch, new RegExp(`"kind":"process".*"pid":${hog.pid}`));
    hog.child.stdin?.write('hog\n');
    assert.equal(await waitForExit(hog.child), null, 'killed by a signal');
    assert.equal(hog.child.signalCode, 'SIGKILL');
    const [line] = await waitForLines(watch, new RegExp(`"kind":"oom-killed".*"pid":${hog.pid}\\b`), {
      timeoutMs: 20_000,
    });
    const record = JSON.parse(line ?? '{}');
    assert.equal(record.target, tag);
    assert.equal(record.source, 'kmsg');
    assert.equal(record.constraint, 'CONSTRAINT_MEMCG');
    assert.ok(record.lastRss >= 20 * MiB, `last RSS ${record.lastRss}`);
    assert.match(record.message, new RegExp(`pid ${hog.pid} \\(python3\\) was killed`));
    // Two intervals: the kill is named at most two cycles after the last one that saw it alive.
    const lastAlive = JSON.parse(seen ?? '{}').cycle as number;
    assert.ok(record.cycle - lastAlive <= 3, `seen alive at cycle ${lastAlive}, named at ${record.cycle}`);
    const metrics = await (await fetch(`${url}metrics`)).text();
    assert.match(metrics, new RegExp(`memwarden_target_oom_kills_total\\{target="${tag}"\\} 1\\n`));
    assert.match(metrics, /memwarden_oom_kills_total [1-9]/);
    assert.match(metrics, /memwarden_system_memory_pressure_ratio\{kind="some",window="10s"\}/);
    watch.kill('SIGTERM');
    assert.equal(await waitForExit(watch), 0);
  });

  it('without the kernel log, says so once and names the kill from the cgroup counter; oom_killed rules fire', {
    skip,
  }, async () => {
    const tag = `oom-fallback-${process.pid}`;
    const hog = await hogInCgroup(tag);
    const config = quickConfig({ patterns: [tag], intervalMs: 200, storePath: false });
    const rule = compileRule({ id: `${tag}#1`, target: tag, when: 'oom_killed', do: ['log'] });
    config.rules = [rule];
    const target = config.targets[0];
    assert.ok(target);
    target.rules = [rule];
    const watcher = new Watcher(config, {}, { kernelLogPath: '/nonexistent/kmsg' });
    const warnings: string[] = [];
    const ticks: Cycle[] = [];
    watcher.on('warning', (w) => warnings.push(w));
    let sawAlive = false;
    const named = new Promise<Cycle>((resolve) =>
      watcher.on('tick', (tick) => {
        ticks.push(tick);
        if (!sawAlive && tick.targets[0]?.processes.some((p) => p.pid === hog.pid)) {
          sawAlive = true;
          hog.child.stdin?.write('hog\n');
        }
        if (tick.oomKills.length > 0) resolve(tick);
      }),
    );
    const running = watcher.run();
    try {
      const tick = await named;
      const kill = tick.oomKills[0];
      assert.equal(kill?.pid, hog.pid);
      assert.deepEqual(kill?.targets, [tag]);
      assert.equal(kill?.source, 'cgroup');
      assert.equal(oomKillCount(hog.dir), 1);
      const fired = tick.events.filter((e) => e.kind === 'fired');
      assert.deepEqual(
        fired.map((e) => [e.ruleId, e.identity?.pid, e.metric]),
        [[`${tag}#1`, hog.pid, 'oom_killed']],
      );
      assert.equal(warnings.filter((w) => w.includes('cannot read /nonexistent/kmsg')).length, 1);
      assert.equal(watcher.counters.oomKillsByTarget.get(tag), 1);
      // The rule fires for the kill only, never for the living process before it.
      const before = ticks.slice(0, -1).flatMap((t) => t.events.filter((e) => e.kind === 'fired'));
      assert.deepEqual(before, []);
    } finally {
      watcher.stop();
      await running;
    }
  });
});
