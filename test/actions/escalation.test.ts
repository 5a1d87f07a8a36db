import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ActionRunner,
  type ActionSpec,
  checkChainIdentity,
  describeEscalation,
  type EscalationHooks,
  type EscalationStepRecord,
  parseEscalation,
  runEscalation,
} from '../../src/actions/index.js';
import { ProcReader } from '../../src/proc/index.js';
import { ActionSpecError } from '../../src/rules/index.js';
import { actionProbes } from '../../src/watch/probes.js';
import { contextFor, sampleOf } from '../helpers/action-context.js';
import { isAlive, pidOf, start, waitForExec, waitForExit } from '../helpers/processes.js';
import { NO_LLDB, startFixture } from '../runtimes/targets.js';

const MB = 1024 * 1024;
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-escalation-'));
const reader = new ProcReader();
after(() => {
  reader.close();
  rmSync(scratch, { recursive: true, force: true, maxRetries: 5 });
});

function parseError(value: unknown): ActionSpecError {
  try {
    parseEscalation(value);
  } catch (err) {
    if (err instanceof ActionSpecError) return err;
    throw err;
  }
  assert.fail(`${JSON.stringify(value)} parsed`);
}

describe('the escalation grammar', () => {
  it('reads the chain of the issue, waits and signals included', () => {
    const steps = parseEscalation([
      'gc',
      'wait 30s',
      'snapshot',
      'signal SIGTERM',
      'wait 20s',
      'signal SIGKILL',
    ]);
    assert.deepEqual(steps, [
      { kind: 'gc' },
      { kind: 'wait', durationMs: 30_000 },
      { kind: 'snapshot' },
      { kind: 'signal', signal: 'SIGTERM' },
      { kind: 'wait', durationMs: 20_000 },
      { kind: 'signal', signal: 'SIGKILL' },
    ]);
    assert.equal(
      describeEscalation(steps),
      'gc → wait 30s → snapshot → signal SIGTERM → wait 20s → signal SIGKILL',
    );
  });

  it('points at the step that is wrong, and at the part of it', () => {
    assert.deepEqual(parseError(['gc', 'wait']).path, [1]);
    assert.match(parseError(['gc', 'wait']).reason, /one duration/);
    assert.deepEqual(parseError(['gc', 'wait 0s', 'restart']).path, [1]);
    assert.match(parseError(['gc', 'wait 30', 'restart']).reason, /unit is required/);
    assert.deepEqual(parseError(['gc', 'sigterm']).path, [1]);
    assert.deepEqual(parseError(['gc', { signal: 'SIGNOPE' }]).path, [1, 'signal']);
    assert.deepEqual(parseError(['gc', 'wait 10s']).path, [1]);
    assert.match(parseError(['gc', 'wait 10s']).reason, /cannot end with a wait/);
    assert.deepEqual(parseError(['gc', 'wait 1s', 'wait 2s', 'gc']).path, [2]);
    assert.match(parseError([]).reason, /at least one step/);
    assert.match(parseError('gc').reason, /a list of steps/);
    assert.match(parseError(Array(17).fill('gc')).reason, /at most 16/);
  });
});

/** Hooks over a real process: its identity and RSS read fresh from /proc, actions through a real runner. */
function hooksFor(
  pid: number,
  startTicks: number,
  holds: (rss: number) => boolean,
  extra: Partial<EscalationHooks> = {},
): { hooks: EscalationHooks; records: EscalationStepRecord[]; acted: string[] } {
  const runner = new ActionRunner({
    identities: reader,
    // The test's own processes, named as probe_users: as root no process is opened up otherwise.
    probes: actionProbes(join(scratch, 'snapshots'), () => {}, [process.geteuid?.() ?? 0]),
    probeTimeoutMs: 60_000,
  });
  const sample = sampleOf(pid);
  const records: EscalationStepRecord[] = [];
  const acted: string[] = [];
  let cycle = 0;
  const hooks: EscalationHooks = {
    holds: () => {
      const rss = reader.read(pid)?.rss;
      return rss === undefined ? undefined : holds(rss);
    },
    identity: () => checkChainIdentity({ pid, startTicks }, reader),
    // Each step in its own cycle, as a watcher's later ticks would be.
    act: (step: ActionSpec) => {
      acted.push(step.kind);
      return runner.run(step, contextFor({ ...sample, startTicks }, { cycle: ++cycle }));
    },
    rss: () => reader.read(pid)?.rss,
    onStep: (record) => records.push(record),
    waitPollMs: 20,
    ...extra,
  };
  return { hooks, records, acted };
}

describe('running an escalation chain on real processes', () => {
  it('stops after the first step when the gc gave the memory back', { skip: NO_LLDB }, async () => {
    const target = await startFixture('python3', 'py_cycles.py', ['300000']);
    const before = reader.read(target.pid);
    assert.ok(before?.rss !== undefined && before.rss > 150 * MB, `the target holds ${before?.rss} bytes`);
    const threshold = before.rss / 2;
    const chain = parseEscalation(['gc', 'wait 30s', 'signal SIGTERM', 'wait 20s', 'signal SIGKILL']);
    const { hooks, records, acted } = hooksFor(target.pid, before.startTicks, (rss) => rss > threshold);
    const result = await runEscalation(chain, hooks);
    assert.equal(result.end, 'cleared', result.message);
    assert.equal(result.nextStep, 1);
    assert.deepEqual(acted, ['gc']);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.ok, true, records[0]?.message);
    assert.ok(
      (records[0]?.rssBytes ?? Number.POSITIVE_INFINITY) < threshold,
      `RSS after gc ${records[0]?.rssBytes}`,
    );
    assert.ok(isAlive(target.pid));
  });

  it('goes on to SIGTERM when the gc cannot help, and ends once the process is gone', async () => {
    const child = start('sleep', ['3101']);
    await waitForExec(pidOf(child), '3101');
    const { pid, startTicks } = sampleOf(pidOf(child));
    const chain = parseEscalation(['gc', 'wait 50ms', 'signal SIGTERM', 'wait 60s', 'signal SIGKILL']);
    const { hooks, records, acted } = hooksFor(pid, startTicks, (rss) => rss > 0);
    const result = await runEscalation(chain, hooks);
    assert.equal(result.end, 'gone', result.message);
    assert.deepEqual(acted, ['gc', 'signal'], 'SIGKILL is never sent to a process that went away');
    const seen = records.map((r) => [r.text, r.ok, r.code]);
    assert.deepEqual(seen.slice(0, 3), [
      ['gc', false, 'NOT_AVAILABLE'],
      ['wait 50ms', true, undefined],
      ['signal SIGTERM', true, undefined],
    ]);
    // Gone before the wait began (checked before every step), or noticed during it.
    assert.ok(
      seen.length === 3 || JSON.stringify(seen[3]) === JSON.stringify(['wait 1m00s', false, 'ESRCH']),
      JSON.stringify(seen),
    );
    assert.ok(typeof records[0]?.rssBytes === 'number', 'the RSS after each step is recorded');
    await waitForExit(child);
    assert.equal(child.signalCode, 'SIGTERM');
  });

  it('touches nothing when the pid no longer names the process the chain is for', async () => {
    const child = start('sleep', ['3102']);
    await waitForExec(pidOf(child), '3102');
    const { pid, startTicks } = sampleOf(pidOf(child));
    const { hooks, acted } = hooksFor(pid, startTicks + 1, () => true);
    const result = await runEscalation(parseEscalation(['signal SIGKILL']), hooks);
    assert.equal(result.end, 'refused');
    assert.match(result.message, /reused/);
    assert.deepEqual(acted, []);
    assert.ok(isAlive(pid));
  });

  it('resumes where a previous run stopped, and stops during a wait when told to', async () => {
    const child = start('sleep', ['3103']);
    await waitForExec(pidOf(child), '3103');
    const { pid, startTicks } = sampleOf(pidOf(child));
    const chain = parseEscalation(['signal SIGCONT', 'wait 60s', 'signal SIGTERM']);
    const controller = new AbortController();
    const first = hooksFor(pid, startTicks, () => true, { signal: controller.signal });
    const running = runEscalation(chain, {
      ...first.hooks,
      onStep: (record) => {
        first.records.push(record);
        controller.abort();
      },
    });
    const stopped = await running;
    assert.equal(stopped.end, 'aborted');
    assert.equal(stopped.nextStep, 1, 'the wait cut short runs again on resume');
    assert.ok(isAlive(pid));
    const second = hooksFor(pid, startTicks, () => true);
    const resumed = await runEscalation(parseEscalation(['signal SIGCONT', 'wait 10ms', 'signal SIGTERM']), {
      ...second.hooks,
      startAt: 1,
    });
    assert.equal(resumed.end, 'completed');
    assert.deepEqual(second.acted, ['signal'], 'the first step is not repeated');
    await waitForExit(child);
    assert.equal(child.signalCode, 'SIGTERM');
  });

  it('stops at a destructive step that failed and at a condition it cannot measure', async () => {
    const child = start('sleep', ['3104']);
    await waitForExec(pidOf(child), '3104');
    const { pid, startTicks } = sampleOf(pidOf(child));
    // signal to a process we may not touch: the runner refuses it, so SIGKILL must not follow.
    const refused = hooksFor(pid, startTicks, () => true, {
      act: async () => ({ ok: false, code: 'EPERM', message: 'not permitted' }),
    });
    const failed = await runEscalation(parseEscalation(['signal SIGTERM', 'signal SIGKILL']), refused.hooks);
    assert.equal(failed.end, 'failed');
    assert.equal(failed.nextStep, 1);
    const unknown = await runEscalation(parseEscalation(['signal SIGKILL']), {
      ...hooksFor(pid, startTicks, () => true).hooks,
      holds: () => undefined,
    });
    assert.equal(unknown.end, 'unknown');
    assert.ok(isAlive(pid));
  });
});
