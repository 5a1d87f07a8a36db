import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ActionRunner, type Clock, Supervisor, type SupervisorOptions } from '../../src/actions/index.js';
import { ProcReader } from '../../src/proc/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { contextFor, sampleOf } from '../helpers/action-context.js';
import { start, waitForExec, waitForLine } from '../helpers/processes.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-supervisor-'));
const supervisors: Supervisor[] = [];
const stores: Store[] = [];
after(async () => {
  await Promise.all(supervisors.map((s) => s.stop()));
  for (const store of stores) store.close();
  rmSync(scratch, { recursive: true, force: true, maxRetries: 5 });
});

let files = 0;
/** A history file, where supervisors keep their counters; reopened by path as a new watcher would. */
function historyFile(): string {
  return join(scratch, `history-${files++}.db`);
}

function openState(path = historyFile()): Store {
  const store = openStore(path, { maintenanceIntervalMs: 0 });
  stores.push(store);
  return store;
}

function supervise(options: SupervisorOptions): Supervisor {
  const supervisor = new Supervisor(options);
  supervisors.push(supervisor);
  return supervisor;
}

const CRASH = ['sh', '-c', 'exit 1'];

/** Waits for an event, failing the test rather than hanging it. */
function eventually(supervisor: Supervisor, event: 'gave-up' | 'started', ms = 10_000) {
  return once(supervisor, event, { signal: AbortSignal.timeout(ms) });
}

describe('Supervisor', () => {
  it('restarts a crash-looping process with growing backoff, then gives up once', async () => {
    const path = historyFile();
    const state = openState(path);
    const supervisor = supervise({
      name: 'crashy',
      argv: CRASH,
      state,
      maxRestarts: 3,
      windowMs: 60_000,
      backoffBaseMs: 20,
    });
    const started: number[] = [];
    const delays: number[] = [];
    let gaveUpEvents = 0;
    supervisor.on('started', (e) => started.push(e.pid));
    supervisor.on('backoff', (e) => delays.push(e.delayMs));
    supervisor.on('gave-up', () => gaveUpEvents++);
    const gaveUp = eventually(supervisor, 'gave-up');
    supervisor.start();
    await gaveUp;
    assert.equal(started.length, 4, 'the first start and exactly 3 restarts');
    assert.deepEqual(delays, [20, 40, 80]);
    assert.equal(supervisor.status, 'gave-up');
    assert.equal(supervisor.restartsInWindow, 3);

    supervisor.start();
    assert.deepEqual(await supervisor.restart(), {
      ok: false,
      code: 'GAVE_UP',
      message:
        'crashy gave up after 3 restarts within 1 minute and stays stopped; re-enable it to start it again',
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(started.length, 4, 'no restart after giving up');
    assert.equal(gaveUpEvents, 1);

    await supervisor.stop();
    state.close();
    const saved = openState(path).supervisor('crashy');
    assert.equal(saved?.gaveUp, true);
    assert.equal(saved?.restartWallMs.length, 3);
  });

  it('forgets earlier restarts once a start lasts startsecs, so a rare crash never adds up (scenario 23)', async () => {
    const supervisor = supervise({
      name: 'steady',
      argv: ['sh', '-c', 'sleep 0.15; exit 1'],
      state: openState(),
      maxRestarts: 2,
      windowMs: 60_000,
      backoffBaseMs: 10,
      startSecsMs: 100,
    });
    const started: number[] = [];
    let gaveUp = 0;
    supervisor.on('started', (e) => started.push(e.pid));
    supervisor.on('gave-up', () => gaveUp++);
    supervisor.start();
    while (started.length < 5) await eventually(supervisor, 'started');
    assert.equal(gaveUp, 0, 'every run lasted startsecs: none of them failed to start');
    assert.ok(supervisor.restartsInWindow <= 1, `restarts counted: ${supervisor.restartsInWindow}`);
    await supervisor.stop();
  });

  it('keeps its counters in the history file across a watcher restart (scenario 24)', async () => {
    const path = historyFile();
    const firstState = openState(path);
    const options: Omit<SupervisorOptions, 'state'> = {
      name: 'svc/with:odd..name',
      argv: CRASH,
      maxRestarts: 3,
      windowMs: 60_000,
      backoffBaseMs: 20,
    };
    const first = supervise({ ...options, state: firstState });
    let starts = 0;
    const thirdStart = new Promise<void>((resolve) =>
      first.on('started', () => {
        if (++starts === 3) resolve();
      }),
    );
    first.start();
    await thirdStart;
    // The watcher goes away after the second restart.
    await first.stop();
    assert.equal(first.restartsInWindow, 2);
    firstState.close();

    const secondState = openState(path);
    const second = supervise({ ...options, state: secondState });
    assert.equal(second.stateLoadError, undefined);
    assert.equal(second.restartsInWindow, 2);
    let laterStarts = 0;
    second.on('started', () => laterStarts++);
    const gaveUp = eventually(second, 'gave-up');
    second.start();
    await gaveUp;
    assert.equal(laterStarts, 2, 'one start and one restart, not three');
    assert.equal(second.status, 'gave-up');
    await second.stop();
    secondState.close();

    const third = supervise({ ...options, state: openState(path) });
    assert.equal(third.status, 'gave-up', 'giving up survives a restart too');
    third.reenable();
    assert.equal(third.restartsInWindow, 0);
    await third.stop();
  });

  it('starts a fresh copy when the process it left running is now a zombie, not following it', async () => {
    const parent = start('python3', [join(FIXTURES, 'zombie.py')]);
    const zombie = Number(await waitForLine(parent, /^\d+$/));
    let record = new ProcReader().read(zombie);
    for (let i = 0; i < 200 && record?.state !== 'Z'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      record = new ProcReader().read(zombie);
    }
    assert.equal(record?.state, 'Z');
    const identity = { pid: zombie, startTicks: record.startTicks };
    const state = openState();
    state.saveSupervisor({ name: 'ghost', restartWallMs: [], gaveUp: false, child: identity });
    state.flush();
    const supervisor = supervise({ name: 'ghost', argv: ['sleep', '2203'], state });
    const started = eventually(supervisor, 'started');
    supervisor.start();
    const [{ pid }] = (await started) as [{ pid: number }];
    assert.notEqual(pid, zombie);
    await waitForExec(pid, '2203');
    await supervisor.stop();
  });

  it('gives up on a program that cannot be started, saying why', async () => {
    const supervisor = supervise({
      name: 'missing',
      argv: [join(scratch, 'no-such-program')],
      state: openState(),
      maxRestarts: 2,
      backoffBaseMs: 10,
    });
    const problems: string[] = [];
    supervisor.on('problem', (p) => problems.push(p.message));
    const gaveUp = eventually(supervisor, 'gave-up');
    supervisor.start();
    await gaveUp;
    assert.equal(problems.length, 3);
    assert.match(problems[0] ?? '', /ENOENT/);
    await supervisor.stop();
  });

  it('clamps saved restart times that lie in the future (the wall clock went back) (scenario 11)', () => {
    const state = openState();
    let monoMs = 5_000;
    const wallMs = Date.UTC(2026, 0, 1);
    const clock: Clock = { monotonicMs: () => monoMs, wallMs: () => wallMs + monoMs };
    state.saveSupervisor({
      name: 'jumpy',
      restartWallMs: [wallMs + 3_600_000, wallMs + 7_200_000, wallMs - 3_600_000],
      gaveUp: false,
    });
    state.flush();
    const supervisor = supervise({ name: 'jumpy', argv: CRASH, state, windowMs: 60_000, clock });
    assert.equal(
      supervisor.restartsInWindow,
      2,
      'the two future ones count from now; the old one has expired',
    );
    monoMs += 61_000;
    assert.equal(supervisor.restartsInWindow, 0, 'and expire one window later, not hours later');
  });

  it('starts afresh, saying why, when its saved state cannot be read', () => {
    const state = openState();
    state.close();
    const supervisor = supervise({ name: 'broken', argv: CRASH, state });
    assert.match(supervisor.stateLoadError ?? '', /cannot read the saved state of broken/);
    assert.equal(supervisor.restartsInWindow, 0);
    assert.equal(supervisor.status, 'stopped');
  });

  it('stops a child that ignores SIGTERM with SIGKILL to its group, and reaps it', async () => {
    const supervisor = supervise({
      name: 'stubborn',
      argv: ['sh', '-c', "trap '' TERM; sleep 2201 & wait"],
      state: openState(),
      stopGraceMs: 100,
    });
    const started = eventually(supervisor, 'started');
    let backoffs = 0;
    supervisor.on('backoff', () => backoffs++);
    supervisor.start();
    const [{ pid }] = (await started) as [{ pid: number }];
    await waitForExec(pid, '2201').catch(() => undefined);
    const began = Date.now();
    await supervisor.stop();
    assert.ok(Date.now() - began < 5000);
    assert.equal(new ProcReader().read(pid), undefined, 'the child is gone and reaped');
    assert.equal(supervisor.status, 'stopped');
    assert.equal(supervisor.pid, undefined);
    assert.equal(backoffs, 0, 'an asked-for stop is not a crash');
  });

  it('restarts a supervised process when a rule asks, through the runner', async () => {
    const supervisor = supervise({ name: 'web', argv: ['sleep', '2202'], state: openState() });
    const started = eventually(supervisor, 'started');
    supervisor.start();
    const [{ pid }] = (await started) as [{ pid: number }];
    await waitForExec(pid, '2202');
    const runner = new ActionRunner({
      identities: new ProcReader(),
      supervisors: new Map([['web', supervisor]]),
    });
    const result = await runner.run({ kind: 'restart' }, contextFor(sampleOf(pid), { target: 'web' }));
    assert.equal(result.ok, true, result.message);
    assert.notEqual(supervisor.pid, pid);
    assert.equal(supervisor.restartsInWindow, 1);
    assert.equal(new ProcReader().read(pid), undefined, 'the old process was stopped and reaped');

    const unsupervised = await runner.run(
      { kind: 'restart' },
      contextFor(sampleOf(supervisor.pid ?? 0), { target: 'other', cycle: 2 }),
    );
    assert.equal(unsupervised.code, 'NOT_SUPERVISED');

    // Two rules asking at once (through two matched processes) get one restart, not two children.
    const before = supervisor.pid;
    const [a, b] = await Promise.all([supervisor.restart(), supervisor.restart()]);
    assert.deepEqual(a, b);
    assert.ok(a.ok && a.pid !== before);
    assert.equal(supervisor.restartsInWindow, 2);
    await supervisor.stop();
  });
});
