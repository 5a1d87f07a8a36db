import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ActionRunner, type ActionSpec, type RuntimeProbes } from '../../src/actions/index.js';
import { ProcReader } from '../../src/proc/index.js';
import { contextFor, sampleOf } from '../helpers/action-context.js';
import { runAsNobody } from '../helpers/nobody.js';
import {
  isAlive,
  pidOf,
  start,
  waitForExec,
  waitForExit,
  waitForLine,
  waitUntil,
} from '../helpers/processes.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const DIST = new URL('../../dist/', import.meta.url).pathname;
const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-runner-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SIGKILL: ActionSpec = { kind: 'signal', signal: 'SIGKILL' };

/** A started sleep, exec'd, with its sample. */
async function sleeper(tag: string) {
  const child = start('sleep', [tag]);
  await waitForExec(pidOf(child), tag);
  return { child, sample: sampleOf(pidOf(child)) };
}

describe('signal actions and the identity check', () => {
  it('delivers the signal to the matched process', async () => {
    const { child, sample } = await sleeper('2001');
    const runner = new ActionRunner({ identities: new ProcReader() });
    const result = await runner.run({ kind: 'signal', signal: 'SIGTERM' }, contextFor(sample));
    assert.equal(result.ok, true, result.message);
    assert.equal(result.action, 'signal');
    assert.equal(result.pid, sample.pid);
    await waitForExit(child);
    assert.equal(child.signalCode, 'SIGTERM');
  });

  it('returns before the action runs and reports it as an event', async () => {
    const { sample } = await sleeper('2002');
    const runner = new ActionRunner({ identities: new ProcReader() });
    const seen: string[] = [];
    runner.on('result', (r) => seen.push(`${r.action}:${r.ok}`));
    const pending = runner.run({ kind: 'log' }, contextFor(sample));
    assert.deepEqual(seen, [], 'no result inside run()');
    const result = await pending;
    assert.equal(result.message, contextFor(sample).message);
    assert.deepEqual(seen, ['log:true']);
  });

  it('never signals a process with the same pid but another start time', async () => {
    const { child: old, sample: stale } = await sleeper('2003');
    old.kill('SIGKILL');
    await waitForExit(old);
    // A later clock tick, so the newcomer's start time differs from the stale one.
    await pause(30);
    const { child: fresh, sample: current } = await sleeper('2004');
    // Whatever pid the newcomer got, the identity held by the rule is the old process's.
    const reused = { ...current, startTicks: stale.startTicks };
    const runner = new ActionRunner({ identities: new ProcReader() });
    const result = await runner.run(SIGKILL, contextFor(reused));
    assert.equal(result.ok, false);
    assert.equal(result.code, 'PID_REUSED');
    assert.ok(isAlive(pidOf(fresh)));
    assert.equal(fresh.exitCode, null);
    assert.equal(runner.counters.refused, 1);
  });

  it('never signals a process that really took over the pid (ns_last_pid)', async (t) => {
    try {
      accessSync(NS_LAST_PID, constants.W_OK);
    } catch {
      t.skip(`${NS_LAST_PID} is not writable (needs root in the pid namespace)`);
      return;
    }
    const runner = new ActionRunner({ identities: new ProcReader() });
    for (let attempt = 0; attempt < 20; attempt++) {
      const { child: old, sample } = await sleeper(`2005${attempt}`);
      old.kill('SIGKILL');
      await waitForExit(old);
      await pause(30);
      // Racy: any other process or thread created in between takes the pid first.
      writeFileSync(NS_LAST_PID, String(sample.pid - 1));
      const newcomer = start('sleep', [`2006${attempt}`]);
      if (pidOf(newcomer) !== sample.pid) {
        newcomer.kill('SIGKILL');
        continue;
      }
      await waitForExec(pidOf(newcomer), `2006${attempt}`);
      const result = await runner.run(SIGKILL, contextFor(sample));
      assert.equal(result.code, 'PID_REUSED', result.message);
      assert.ok(isAlive(sample.pid));
      assert.equal(newcomer.exitCode, null);
      assert.equal(newcomer.signalCode, null);
      return;
    }
    t.skip('no attempt got the same pid back (other processes took it first)');
  });

  it('treats an unreadable start time as unknown, not as reuse, and does not act', async () => {
    const { child, sample } = await sleeper('2007');
    const runner = new ActionRunner({ identities: new ProcReader() });
    const unknownSample = await runner.run(SIGKILL, contextFor({ ...sample, startTicks: 0 }));
    assert.equal(unknownSample.code, 'IDENTITY_UNKNOWN');
    const blind = new ActionRunner({ identities: { identity: (pid) => ({ pid, startTicks: 0 }) } });
    const unknownNow = await blind.run(SIGKILL, contextFor(sample));
    assert.equal(unknownNow.code, 'IDENTITY_UNKNOWN');
    assert.equal(child.exitCode, null);
    assert.ok(isAlive(sample.pid));
  });

  it('reports a process that is gone as ESRCH', async () => {
    const { child, sample } = await sleeper('2008');
    child.kill('SIGKILL');
    await waitForExit(child);
    const result = await new ActionRunner({ identities: new ProcReader() }).run(SIGKILL, contextFor(sample));
    assert.equal(result.code, 'ESRCH');
  });

  it('reports EPERM when an unprivileged watchdog signals a root process (scenario 14)', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to start a watchdog as another user');
      return;
    }
    const { child, sample } = await sleeper('2009');
    const script = `
      const { ActionRunner } = await import(${JSON.stringify(`${DIST}actions/index.js`)});
      const { ProcReader } = await import(${JSON.stringify(`${DIST}proc/index.js`)});
      const reader = new ProcReader();
      const sample = { ...reader.read(${sample.pid}), time: Date.now() };
      const runner = new ActionRunner({ identities: reader });
      const context = { target: 't', sample, rule: 'r', message: 'm', cycle: 1 };
      console.log(JSON.stringify(await runner.run({ kind: 'signal', signal: 'SIGTERM' }, context)));
      await runner.close();`;
    const result = runAsNobody<{ ok: boolean; code?: string }>(script);
    assert.equal(result.ok, false);
    assert.equal(result.code, 'EPERM');
    assert.equal(child.exitCode, null);
    assert.ok(isAlive(sample.pid));
  });
});

describe('protected processes', () => {
  const destructive: ActionSpec[] = [
    SIGKILL,
    { kind: 'exec', argv: ['touch', '{pid}'], timeoutMs: 1000, maxOutputBytes: 100 },
    { kind: 'restart' },
    { kind: 'gc' },
  ];

  it('refuses every action on pid 1, memwarden itself and its parent', async () => {
    const runner = new ActionRunner({ identities: new ProcReader() });
    for (const pid of [1, process.pid, process.ppid]) {
      const sample = sampleOf(pid);
      for (const spec of destructive) {
        const result = await runner.run(spec, contextFor(sample, { cycle: pid }));
        assert.equal(result.code, 'PROTECTED', `${spec.kind} on pid ${pid}: ${result.message}`);
      }
    }
    assert.equal(existsSync(join(process.cwd(), '1')), false);
  });

  it('refuses a zombie and a kernel thread', async (t) => {
    const parent = start('python3', [join(FIXTURES, 'zombie.py')]);
    const zombiePid = Number(await waitForLine(parent, /^\d+$/));
    // While the child is inside exit() the reader reports nothing; wait for the zombie.
    let record = new ProcReader().read(zombiePid);
    for (let i = 0; i < 200 && record?.state !== 'Z'; i++) {
      await pause(10);
      record = new ProcReader().read(zombiePid);
    }
    assert.equal(record?.state, 'Z');
    const zombie = { ...record, time: Date.now() };
    const runner = new ActionRunner({ identities: new ProcReader() });
    const result = await runner.run(SIGKILL, contextFor(zombie));
    assert.equal(result.code, 'PROTECTED');
    assert.match(result.message, /zombie/);

    const kthreadd = new ProcReader().read(2);
    if (!kthreadd?.kernelThread) {
      t.diagnostic('no kernel threads are visible here; that half is skipped');
      return;
    }
    const kernel = await runner.run(SIGKILL, contextFor({ ...kthreadd, time: Date.now() }));
    assert.equal(kernel.code, 'PROTECTED');
  });

  it('refuses pids the caller adds', async () => {
    const { child, sample } = await sleeper('2010');
    const runner = new ActionRunner({ identities: new ProcReader(), protectedPids: [sample.pid] });
    assert.equal((await runner.run(SIGKILL, contextFor(sample))).code, 'PROTECTED');
    assert.equal(child.exitCode, null);
  });
});

describe('one action at a time, one destructive action per cycle', () => {
  it('lets the first destructive action of a cycle win and suppresses the others (scenario 5)', async () => {
    const { child, sample } = await sleeper('2011');
    const marker = join(scratch, 'second-rule-ran');
    const runner = new ActionRunner({ identities: new ProcReader() });
    const first = runner.run(SIGKILL, contextFor(sample, { rule: 'kill-it', cycle: 7 }));
    const second = runner.run(
      { kind: 'exec', argv: ['touch', marker], timeoutMs: 1000, maxOutputBytes: 100 },
      contextFor(sample, { rule: 'touch-it', cycle: 7 }),
    );
    const notDestructive = runner.run({ kind: 'snapshot' }, contextFor(sample, { rule: 'look', cycle: 7 }));
    const [a, b, c] = await Promise.all([first, second, notDestructive]);
    assert.equal(a.ok, true, a.message);
    assert.equal(b.code, 'SUPPRESSED_OVERLAP');
    assert.match(b.message, /kill-it/);
    assert.equal(c.code, 'NOT_AVAILABLE', 'a snapshot is not destructive and is not suppressed');
    assert.equal(existsSync(marker), false);
    assert.equal(runner.counters.suppressedOverlap, 1);
    await waitForExit(child);
  });

  it('allows a destructive action again in the next cycle', async () => {
    const { sample } = await sleeper('2012');
    const runner = new ActionRunner({ identities: new ProcReader() });
    const cont: ActionSpec = { kind: 'signal', signal: 'SIGCONT' };
    assert.equal((await runner.run(cont, contextFor(sample, { cycle: 1 }))).ok, true);
    assert.equal((await runner.run(cont, contextFor(sample, { cycle: 1 }))).code, 'SUPPRESSED_OVERLAP');
    assert.equal((await runner.run(cont, contextFor(sample, { cycle: 2 }))).ok, true);
  });

  it("lets the guard's steps pass a rule's claim and refuses rules on its victim until it lets go", async () => {
    const { sample } = await sleeper('2015');
    const runner = new ActionRunner({ identities: new ProcReader() });
    const cont: ActionSpec = { kind: 'signal', signal: 'SIGCONT' };
    const by = (rule: string, cycle: number) => runner.run(cont, contextFor(sample, { rule, cycle }));
    assert.equal((await by('early-rule', 5)).ok, true);
    const release = runner.hold(sample, 'guard');
    // Not held back by the rule that acted this cycle; and a chain's steps follow each other.
    assert.equal((await by('guard', 5)).ok, true);
    assert.equal((await by('guard', 5)).ok, true);
    const refused = await by('late-rule', 6);
    assert.equal(refused.code, 'SUPPRESSED_OVERLAP');
    assert.equal(refused.message, `the guard acts on pid ${sample.pid} until its chain has ended`);
    release();
    assert.equal((await by('late-rule', 7)).ok, true);
    // The guard's steps leave the cycle's claims alone: this cycle's first rule still holds it.
    const again = runner.hold(sample, 'guard');
    assert.equal((await by('guard', 7)).ok, true);
    again();
    assert.match((await by('another-rule', 7)).message, /rule late-rule already acts on pid \d+ this cycle/);
  });

  it("puts the guard's step first in its victim's line and never drops it for a full one", async () => {
    const { sample } = await sleeper('2016');
    const runner = new ActionRunner({ identities: new ProcReader(), maxQueuedPerProcess: 1 });
    const gate = join(scratch, 'guard-gate');
    const order: string[] = [];
    const track = (name: string, p: Promise<{ ok: boolean; code?: string }>) =>
      p.then((r) => {
        order.push(name);
        return r;
      });
    // An action already running on the process: it ends once the gate file exists.
    const running = track(
      'running',
      runner.run(
        {
          kind: 'exec',
          argv: ['sh', '-c', `while [ ! -e '${gate}' ]; do sleep 0.05; done`],
          timeoutMs: 30_000,
          maxOutputBytes: 100,
        },
        contextFor(sample, { rule: 'slow', cycle: 1 }),
      ),
    );
    const queued = track(
      'queued',
      runner.run(
        { kind: 'exec', argv: ['true'], timeoutMs: 30_000, maxOutputBytes: 100 },
        contextFor(sample, { rule: 'next', cycle: 2 }),
      ),
    );
    // Both are in line before the guard takes the process.
    await waitUntil('the second job waits in line', () => runner.queued === 1);
    runner.hold(sample, 'guard');
    const guardStep = track(
      'guard',
      runner.run({ kind: 'signal', signal: 'SIGCONT' }, contextFor(sample, { rule: 'guard', cycle: 2 })),
    );
    await waitUntil('the guard step is in line', () => runner.queued >= 2);
    assert.equal(runner.queued, 2, 'the line is over its limit of one for the guard alone');
    writeFileSync(gate, '');
    const [, , step] = await Promise.all([running, queued, guardStep]);
    assert.equal(step.ok, true);
    assert.deepEqual(order, ['running', 'guard', 'queued']);
  });

  it('runs actions on one process one after another and drops what exceeds the queue', async () => {
    const { sample } = await sleeper('2013');
    const lock = join(scratch, 'one-at-a-time');
    const runner = new ActionRunner({ identities: new ProcReader(), maxQueuedPerProcess: 2 });
    // mkdir fails if another action on the same process is still inside.
    const spec: ActionSpec = {
      kind: 'exec',
      argv: ['sh', '-c', `mkdir ${lock} && sleep 0.2 && rmdir ${lock}`],
      timeoutMs: 5000,
      maxOutputBytes: 1000,
    };
    const began = Date.now();
    const pending = [1, 2, 3, 4].map((cycle) => runner.run(spec, contextFor(sample, { cycle })));
    assert.ok(Date.now() - began < 1000, 'run() does not wait for the action');
    const results = await Promise.all(pending);
    assert.deepEqual(
      results.map((r) => r.code ?? 'ok'),
      ['ok', 'ok', 'ok', 'DROPPED'],
    );
    assert.equal(runner.counters.dropped, 1);
  });
});

describe('the runner under load and faults', () => {
  it('runs no more actions at once than the global cap, across processes', async () => {
    const lock = join(scratch, 'global-cap');
    const runner = new ActionRunner({ identities: new ProcReader(), maxConcurrent: 1 });
    const spec: ActionSpec = {
      kind: 'exec',
      argv: ['sh', '-c', `mkdir ${lock} && sleep 0.1 && rmdir ${lock}`],
      timeoutMs: 5000,
      maxOutputBytes: 1000,
    };
    const samples = await Promise.all(
      ['2016', '2017', '2018'].map(async (tag) => (await sleeper(tag)).sample),
    );
    const results = await Promise.all(samples.map((sample) => runner.run(spec, contextFor(sample))));
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, true, true],
      results.map((r) => r.message).join('; '),
    );
  });

  it('survives a result listener that throws', async () => {
    const { sample } = await sleeper('2019');
    const runner = new ActionRunner({ identities: new ProcReader() });
    runner.on('result', () => {
      throw new Error('listener bug');
    });
    const warned = new Promise((resolve) => process.once('warning', resolve));
    const result = await runner.run({ kind: 'log' }, contextFor(sample));
    assert.equal(result.ok, true);
    assert.match(String(await warned), /listener bug/);
    await runner.idle();
  });
});

describe('runtime probes', () => {
  it('reports gc, snapshot and trim as not available without probes', async () => {
    const { sample } = await sleeper('2014');
    const runner = new ActionRunner({ identities: new ProcReader() });
    for (const kind of ['gc', 'snapshot', 'trim'] as const) {
      const result = await runner.run({ kind }, contextFor(sample));
      assert.equal(result.code, 'NOT_AVAILABLE');
    }
  });

  it('hands the confirmed identity to the probe and bounds it in time', async () => {
    const { sample } = await sleeper('2015');
    const calls: string[] = [];
    let aborted = false;
    const probes: RuntimeProbes = {
      gc: async (pid, identity) => {
        calls.push(`gc ${pid} ${identity.startTicks}`);
        return { ok: true, message: 'collected', details: { freedBytes: 4096 } };
      },
      snapshot: (_pid, _identity, options) =>
        new Promise(() => {
          options.signal.addEventListener('abort', () => {
            aborted = true;
          });
        }),
      trim: async () => ({ ok: false, code: 'FAILED', message: 'malloc_trim unavailable' }),
    };
    const runner = new ActionRunner({ identities: new ProcReader(), probes, probeTimeoutMs: 100 });
    const gc = await runner.run({ kind: 'gc' }, contextFor(sample));
    assert.equal(gc.ok, true);
    assert.deepEqual(gc.details, { freedBytes: 4096 });
    assert.deepEqual(calls, [`gc ${sample.pid} ${sample.startTicks}`]);
    const snapshot = await runner.run({ kind: 'snapshot' }, contextFor(sample));
    assert.equal(snapshot.code, 'TIMEOUT');
    assert.ok(snapshot.durationMs < 5000);
    assert.equal(aborted, true);
    assert.equal((await runner.run({ kind: 'trim' }, contextFor(sample))).message, 'malloc_trim unavailable');
  });
});
