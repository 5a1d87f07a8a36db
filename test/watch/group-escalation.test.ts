/**
 * A group rule's escalation chain and its memory across watcher restarts, end to end:
 * `memwarden watch -c FILE --json` on a target of several real processes, with a history file.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chainEnd, keepsCooldownAcrossKill, resumedChain } from '../helpers/chains.js';
import { isAlive, pidOf, start, waitForExec, waitForExit, waitForLine } from '../helpers/processes.js';
import { readRows } from '../helpers/sqlite.js';

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-group-escalation-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));
let files = 0;

/** Holds MB of its own memory until SIGUSR1 makes it let go; SIGTERM ends it. */
const HOLDER = `
import signal, sys
held = [b"x" * (int(sys.argv[1]) << 20)]
def let_go(*_):
    held.clear()
    print("freed", flush=True)
signal.signal(signal.SIGUSR1, let_go)
print("ready", flush=True)
while True:
    signal.pause()
`;

/**
 * Three processes of one target (their command lines hold a marker unique to the test), holding
 * 20, 40 and 120 MB: the last is the biggest.
 */
async function family(
  what: string,
): Promise<{ marker: string; small: ChildProcess; middle: ChildProcess; biggest: ChildProcess }> {
  const marker = `memwarden-${what}-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const [small, middle, biggest] = [20, 40, 120].map((mb) =>
    start('python3', ['-c', HOLDER, String(mb), marker]),
  ) as [ChildProcess, ChildProcess, ChildProcess];
  for (const member of [small, middle, biggest]) await waitForLine(member, /ready/, 30_000);
  return { marker, small, middle, biggest };
}

/** A config of one target matching `marker`, whose one rule escalates; and its history file. */
function configFile(marker: string, when: string, escalate: string): { config: string; store: string } {
  const config = join(scratch, `group-${files}.yaml`);
  const store = join(scratch, `group-${files++}.db`);
  writeFileSync(
    config,
    `interval: 200ms\nstore: ${store}\ntargets:\n  - name: family\n    match: ${marker}\n` +
      `    rules:\n      - when: ${when}\n        escalate: ${escalate}\n`,
  );
  return { config, store };
}

/**
 * A family, and a watcher whose rule on it escalates, run until the chain ends. `freed` is the
 * biggest member's word that SIGUSR1 made it let go of its memory.
 */
async function familyChain(what: string, when: string, escalate: string) {
  const members = await family(what);
  const freed = waitForLine(members.biggest, /freed/, 90_000);
  freed.catch(() => undefined);
  const { config, store } = configFile(members.marker, when, escalate);
  return { ...members, freed, end: await chainEnd(config), store };
}

interface StepRow {
  text: string;
  pid: number | null;
  /** A gc or trim step's: each member it went to, in turn. */
  members?: { pid: number; ok: boolean }[];
}

function chainSteps(store: string): StepRow[] {
  return readRows<{ message: string; details: string; pid: number | null }>(
    store,
    "SELECT message, details, pid FROM events WHERE kind = 'escalation' ORDER BY id",
  )
    .filter((e) => /^step /.test(e.message))
    .map((e) => {
      const details = JSON.parse(e.details) as { text: string; details?: { members?: StepRow['members'] } };
      const members = details.details?.members;
      return { text: details.text, pid: e.pid, ...(members ? { members } : {}) };
    });
}

describe("a group rule's escalation chain", () => {
  it('measures the group again before each step and stops once its total is back under the threshold', async () => {
    const { small, middle, biggest, freed, end, store } = await familyChain(
      'group-chain-cleared',
      'total.pss > 150MB',
      '[gc, signal SIGUSR1, wait 1s, signal SIGTERM]',
    );
    assert.equal(end.end, 'cleared', end.message);
    assert.equal(end.group, true);
    assert.equal(end.pid, pidOf(biggest), 'the notices name the member the single steps went to');
    await freed;
    for (const member of [small, middle, biggest])
      assert.ok(isAlive(pidOf(member)), 'no one was sent SIGTERM');
    const steps = chainSteps(store);
    // gc went to every member, biggest first (opened up or refused: the chain goes on either way).
    assert.equal(steps[0]?.text, 'gc');
    assert.deepEqual(
      steps[0]?.members?.map((m) => m.pid),
      [biggest, middle, small].map(pidOf),
    );
    // The signal went to the biggest alone; the wait may be found not needed once it let go.
    assert.equal(steps[1]?.text, 'signal SIGUSR1');
    assert.equal(steps[1]?.pid, pidOf(biggest));
    assert.ok(
      steps.length === 2 || (steps.length === 3 && steps[2]?.text === 'wait 1s'),
      JSON.stringify(steps),
    );
  });

  it('signals the biggest member only, and ends when that member is gone, never sending the SIGKILL', async () => {
    const { small, middle, biggest, end, store } = await familyChain(
      'group-chain-gone',
      'total.rss > 150MB',
      '[signal SIGTERM, wait 30s, signal SIGKILL]',
    );
    assert.equal(end.end, 'gone', end.message);
    await waitForExit(biggest);
    assert.equal(biggest.signalCode, 'SIGTERM');
    assert.ok(isAlive(pidOf(small)) && isAlive(pidOf(middle)), 'the smaller members are left alone');
    const texts = chainSteps(store).map((s) => s.text);
    assert.equal(texts[0], 'signal SIGTERM');
    assert.ok(!texts.includes('signal SIGKILL'), JSON.stringify(texts));
  });

  it('a watcher restarted mid-chain resumes the group at the next step, its firing still on', async () => {
    const { marker, small, middle, biggest } = await family('group-chain-resume');
    const { config } = configFile(marker, 'total.rss > 150MB', '[signal SIGCONT, wait 5s, signal SIGTERM]');
    const end = await resumedChain(config, () =>
      assert.ok(isAlive(pidOf(biggest)), 'the first watcher stopped before SIGTERM'),
    );
    assert.ok(end.end === 'completed' || end.end === 'gone', end.message);
    await waitForExit(biggest);
    assert.equal(biggest.signalCode, 'SIGTERM');
    assert.ok(isAlive(pidOf(small)) && isAlive(pidOf(middle)));
  });
});

describe("a group rule's memory across watcher restarts", () => {
  it('keeps a group rule cooling down across a killed watcher; an edited rule starts afresh', async () => {
    const marker = String(4_000_000 + process.pid);
    const members = [start('sleep', [marker]), start('sleep', [marker])];
    for (const member of members) await waitForExec(pidOf(member), marker);
    // Two processes, one rule about both: one exec each time it fires (the helper counts them).
    const { store } = await keepsCooldownAcrossKill(scratch, 'sleepers', `sleep ${marker}`, 'total.rss');
    assert.deepEqual(
      readRows<{ target: string; firing: number }>(store, 'SELECT target, firing FROM group_rule_firings'),
      [{ target: 'sleepers', firing: 1 }],
      "the edited rule's firing, kept by target; the old rule's row is gone",
    );
  });
});
