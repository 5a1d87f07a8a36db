/**
 * Escalation chains in the daemon, end to end: `memwarden watch -c FILE` with a rule that
 * escalates, against real processes, with a real history file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CHAIN_END, notice, resumedChain, stopWatcher, watchJson } from '../helpers/chains.js';
import { runCli } from '../helpers/cli.js';
import { isAlive, pidOf, start, waitForExec, waitForExit } from '../helpers/processes.js';
import { readRows } from '../helpers/sqlite.js';
import { NO_LLDB, startFixture } from '../runtimes/targets.js';

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-escalation-watch-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));
let files = 0;

function configFile(pid: number, when: string, escalate: string, store: string): string {
  const path = join(scratch, `chain-${files++}.yaml`);
  writeFileSync(
    path,
    `interval: 200ms\nstore: ${store}\ntargets:\n  - name: victim\n    match: { pid: ${pid} }\n` +
      `    rules:\n      - when: ${when}\n        escalate: ${escalate}\n` +
      // The test's own processes may be opened up (as root, none are unless listed).
      `probe_users: [${process.getuid?.() ?? 0}]\n`,
  );
  return path;
}

interface EventRow {
  kind: string;
  message: string;
  details: string;
}

function chainEvents(store: string): EventRow[] {
  return readRows<EventRow>(
    store,
    "SELECT kind, message, details FROM events WHERE kind = 'escalation' ORDER BY id",
  );
}

describe('rules that escalate', () => {
  it('check prints the chain step by step', async () => {
    const path = configFile(
      1,
      'rss > 1GB for 1m',
      '[gc, wait 30s, snapshot, signal SIGTERM, wait 20s, signal SIGKILL]',
      'false',
    );
    const { code, stdout, stderr } = await runCli(['check', '-c', path]);
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      /victim#1 when 'rss > 1GB for 1m' escalates: gc → wait 30s → snapshot → signal SIGTERM → wait 20s → signal SIGKILL/,
    );
  });

  it('a bad step is reported at its line and column', async () => {
    const path = configFile(1, 'rss > 1GB', '[gc, wait 30, signal SIGTERM]', 'false');
    const { code, stderr } = await runCli(['check', '-c', path]);
    assert.equal(code, 2);
    assert.match(
      stderr,
      /chain-\d+\.yaml:8:\d+: targets\[0\]\.rules\[0\]\.escalate\[1\]: .*a unit is required/,
    );
  });

  it('stops after the first step when the gc gave the memory back', { skip: NO_LLDB }, async () => {
    const target = await startFixture('python3', 'py_cycles.py', ['50000', 'pages']);
    const store = join(scratch, 'cleared.db');
    const watcher = watchJson(configFile(target.pid, 'rss > 100MB', '[gc, wait 30s, signal SIGTERM]', store));
    try {
      const end = await notice(watcher, CHAIN_END);
      assert.equal(end?.end, 'cleared', end?.message);
      assert.match(end?.message ?? '', /step 2 \(wait 30s\) not needed/);
    } finally {
      await stopWatcher(watcher);
    }
    assert.ok(isAlive(target.pid), 'the process was not signalled');
    const events = chainEvents(store);
    const steps = events.filter((e) => /^step /.test(e.message));
    assert.equal(steps.length, 1, JSON.stringify(events));
    const gc = JSON.parse(steps[0]?.details ?? '{}') as { text: string; ok: boolean; rssBytes: number };
    assert.equal(gc.text, 'gc');
    assert.equal(gc.ok, true);
    assert.ok(gc.rssBytes < 100 * 1024 * 1024, `RSS after the gc step: ${gc.rssBytes}`);
  });

  it('reaches SIGTERM when the memory does not come back, and never sends SIGKILL to a process that went', async () => {
    const victim = start('sleep', ['3201']);
    await waitForExec(pidOf(victim), '3201');
    const store = join(scratch, 'sigterm.db');
    const watcher = watchJson(
      configFile(
        pidOf(victim),
        'rss > 1KB',
        '[gc, wait 300ms, signal SIGTERM, wait 30s, signal SIGKILL]',
        store,
      ),
    );
    try {
      const end = await notice(watcher, CHAIN_END);
      assert.equal(end?.end, 'gone', end?.message);
    } finally {
      await stopWatcher(watcher);
    }
    await waitForExit(victim);
    assert.equal(victim.signalCode, 'SIGTERM');
    const texts = chainEvents(store)
      .filter((e) => /^step /.test(e.message))
      .map((e) => (JSON.parse(e.details) as { text: string }).text);
    // The process may be gone before the next wait begins, or while it runs; never SIGKILLed.
    assert.deepEqual(texts.slice(0, 3), ['gc', 'wait 300ms', 'signal SIGTERM']);
    assert.ok(texts.length === 3 || (texts.length === 4 && texts[3] === 'wait 30s'), JSON.stringify(texts));
  });

  it('a watcher restarted mid-chain resumes the same firing at the next step, not from the top', async () => {
    const victim = start('sleep', ['3202']);
    await waitForExec(pidOf(victim), '3202');
    const store = join(scratch, 'resume.db');
    const config = configFile(pidOf(victim), 'rss > 1KB', '[signal SIGCONT, wait 5s, signal SIGTERM]', store);
    const end = await resumedChain(config, () =>
      assert.ok(isAlive(pidOf(victim)), 'the first watcher stopped before SIGTERM'),
    );
    assert.equal(end.end, 'completed', end.message);
    await waitForExit(victim);
    assert.equal(victim.signalCode, 'SIGTERM');
  });
});
