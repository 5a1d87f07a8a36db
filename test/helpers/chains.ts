/**
 * `memwarden watch -c FILE --json` as the escalation and restart tests run it: its records read
 * as they come, and the checks that a watcher restarted mid-chain or after a kill goes on where
 * the previous one stopped.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, CLI_ENV, jsonRecords, runCli } from './cli.js';
import { start, waitForExit, waitForLine, waitForLines } from './processes.js';

export function watchJson(config: string): ChildProcess {
  return start(process.execPath, [BIN, 'watch', '-c', config, '--json'], { env: CLI_ENV });
}

export interface Notice {
  kind: string;
  message: string;
  pid?: number;
  group?: boolean;
  end?: string;
  step?: { index: number; text: string; ok: boolean; rssBytes?: number };
}

/** The first record the watcher prints that matches `pattern`. */
export async function notice(watcher: ChildProcess, pattern: RegExp, timeoutMs = 90_000): Promise<Notice> {
  const [line] = await waitForLines(watcher, pattern, { timeoutMs });
  assert.ok(line);
  return JSON.parse(line) as Notice;
}

export async function stopWatcher(watcher: ChildProcess): Promise<void> {
  watcher.kill('SIGTERM');
  await waitForExit(watcher);
}

/** An escalation notice that says how its chain ended. */
export const CHAIN_END = /^(?=.*"kind":"escalation")(?=.*"end":)/;

/** Runs a watcher on `config` until a chain ends, stops it, and returns how the chain ended. */
export async function chainEnd(config: string): Promise<Notice> {
  const watcher = watchJson(config);
  try {
    return await notice(watcher, CHAIN_END);
  } finally {
    await stopWatcher(watcher);
  }
}

/**
 * Runs a watcher on `config` until its chain's first step (`signal SIGCONT`) is done and stops
 * it, then a second one until the chain ends; checks that the second took the same firing up at
 * step 2. Returns how the chain ended.
 */
export async function resumedChain(config: string, beforeSecond: () => void): Promise<Notice> {
  const first = watchJson(config);
  try {
    await notice(first, /^(?=.*"kind":"escalation")(?=.*step 1 signal SIGCONT: ok)/);
  } finally {
    await stopWatcher(first);
  }
  beforeSecond();
  const second = watchJson(config);
  let out = '';
  second.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  let end: Notice;
  try {
    end = await notice(second, CHAIN_END);
  } finally {
    await stopWatcher(second);
  }
  assert.match(out, /escalation resumed at step 2/);
  assert.doesNotMatch(out, /step 1 signal SIGCONT/, 'the first step ran again');
  assert.doesNotMatch(out, /"kind":"rule-fired"/, 'the same firing fired again');
  return end;
}

/**
 * A rule `METRIC > 1KB` on target `name` (matching `match`), whose action counts its firings,
 * fires once under a watcher that is then killed; a second watcher, the rule unchanged, holds it
 * to its cooldown; a third, the rule edited to `METRIC > 2KB`, fires it afresh. `dir` holds the
 * config, the history file (`store`, returned) and the marks.
 */
export async function keepsCooldownAcrossKill(
  dir: string,
  name: string,
  match: string,
  metric: string,
): Promise<{ store: string }> {
  const store = join(dir, `${name}-cooldown.db`);
  const marks = join(dir, `${name}-cooldown.marks`);
  const config = join(dir, `${name}-cooldown.yaml`);
  const write = (threshold: string) =>
    writeFileSync(
      config,
      `interval: 100ms\nstore: ${store}\ntargets:\n  - name: ${name}\n    match: ${match}\n    rules:\n      - when: ${metric} > ${threshold}\n        do:\n          - exec: [sh, -c, 'echo fired >> "$1"', sh, ${marks}]\n`,
    );
  const fired = () => {
    try {
      return readFileSync(marks, 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  };
  write('1KB');
  const first = watchJson(config);
  await waitForLine(first, /"kind":"action"/);
  first.kill('SIGKILL');
  await waitForExit(first);
  assert.equal(fired(), 1);

  const second = await runCli(['watch', '-c', config, '--count', '5', '--json']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(jsonRecords(second.stdout, 'rule-fired').length, 0, 'still cooling down');
  assert.equal(fired(), 1);

  write('2KB');
  const third = await runCli(['watch', '-c', config, '--count', '5', '--json']);
  assert.equal(third.code, 0, third.stderr);
  assert.equal(jsonRecords(third.stdout, 'rule-fired').length, 1, 'an edited rule is a new rule');
  assert.equal(fired(), 2);
  return { store };
}
