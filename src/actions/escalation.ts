import type { ProcessIdentity } from '../proc/index.js';
import {
  type ActionSpec,
  ActionSpecError,
  DESTRUCTIVE_ACTIONS,
  type EscalationStep,
  parseAction,
  type WaitStep,
} from '../rules/index.js';
import { formatDuration, parseDuration } from '../units/index.js';
import { checkIdentity, type IdentityCheck } from './identity.js';
import type { ResultCode } from './spec.js';

/**
 * Escalation chains: steps run in order when plain release is not enough, e.g.
 * `[gc, wait 30s, snapshot, signal SIGTERM, wait 20s, signal SIGKILL]`. Before every step the
 * process's identity is checked and the condition that started the chain is measured again; the
 * chain stops as soon as the process is gone or reused, or the condition no longer holds. Who
 * started it (a rule, the machine guard) supplies the measurement and carries the actions out.
 */

export type { EscalationStep, WaitStep };

/** More steps than anyone can reason about at 3 a.m. */
export const MAX_ESCALATION_STEPS = 16;

function fail(path: readonly (string | number)[], reason: string): never {
  throw new ActionSpecError(path, reason);
}

function parseStep(value: unknown): EscalationStep {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    const [word, ...rest] = trimmed.split(/\s+/);
    if (word === 'wait') {
      if (rest.length !== 1 || rest[0] === undefined) fail([], "expected one duration, e.g. 'wait 30s'");
      let durationMs: number;
      try {
        durationMs = parseDuration(rest[0]);
      } catch (err) {
        fail([], err instanceof Error ? err.message : String(err));
      }
      if (durationMs <= 0) fail([], "a wait must be longer than 0, e.g. 'wait 30s'");
      return { kind: 'wait', durationMs };
    }
  }
  return parseAction(value);
}

/**
 * A rule's `escalate:` value: a list of steps, each an action as `do:` takes it or `wait
 * DURATION`. Unlike `do:`, a chain may hold several destructive steps — that is its point — so
 * they are spaced by waits and stopped by the condition. Throws ActionSpecError whose path
 * starts at the step's index, for the config loader to point at the exact YAML node.
 */
export function parseEscalation(value: unknown): EscalationStep[] {
  if (!Array.isArray(value)) fail([], 'expected a list of steps such as [gc, wait 30s, signal SIGTERM]');
  if (value.length === 0) fail([], 'expected at least one step, e.g. [gc, wait 30s, signal SIGTERM]');
  if (value.length > MAX_ESCALATION_STEPS) {
    fail([MAX_ESCALATION_STEPS], `at most ${MAX_ESCALATION_STEPS} steps in a chain (found ${value.length})`);
  }
  const steps = value.map((item, index) => {
    try {
      return parseStep(item);
    } catch (err) {
      if (err instanceof ActionSpecError) throw new ActionSpecError([index, ...err.path], err.reason);
      throw err;
    }
  });
  steps.forEach((step, index) => {
    if (step.kind === 'wait' && steps[index - 1]?.kind === 'wait') {
      fail([index], 'two waits in a row: write one wait with the sum');
    }
  });
  if (steps.at(-1)?.kind === 'wait') {
    fail([steps.length - 1], 'a chain cannot end with a wait: nothing would follow it');
  }
  return steps;
}

/** A step as written back: `wait 30s`, `signal SIGTERM`, `gc`. */
export function stepText(step: EscalationStep): string {
  switch (step.kind) {
    case 'wait':
      return `wait ${formatDuration(step.durationMs)}`;
    case 'signal':
      return `signal ${step.signal}`;
    case 'exec':
      return `exec ${step.argv[0] ?? ''}`;
    case 'webhook':
      return `webhook ${step.url}`;
    default:
      return step.kind;
  }
}

/** The whole chain on one line, for `check` and logs: `gc → wait 30s → signal SIGTERM`. */
export function describeEscalation(steps: readonly EscalationStep[]): string {
  return steps.map(stepText).join(' → ');
}

/** What carrying out one action step came to (an ActionResult has these fields). */
export interface EscalationStepOutcome {
  ok: boolean;
  code?: ResultCode;
  message: string;
  details?: Record<string, unknown>;
}

/** One step that ran, for the log and the store. */
export interface EscalationStepRecord {
  index: number;
  text: string;
  ok: boolean;
  code?: ResultCode;
  message: string;
  /** The process's RSS right after the step; undefined when it is gone or unreadable. */
  rssBytes?: number;
  /** Wall-clock time the step ended, ms since the epoch. */
  time: number;
  durationMs: number;
  details?: Record<string, unknown>;
}

/**
 * How a chain ended:
 * - `completed`: every step ran.
 * - `cleared`: the condition no longer held before a step (memory came back).
 * - `unknown`: the condition could not be measured; nothing more is done on a guess.
 * - `gone`: the process exited (a signal did its work, or it ended on its own).
 * - `refused`: the pid now names another process, or its identity cannot be confirmed.
 * - `failed`: a destructive step failed, so the next must not assume it worked (scenario 14).
 * - `aborted`: the caller stopped it (a watcher shutting down); `nextStep` says where to resume.
 */
export type EscalationEnd = 'completed' | 'cleared' | 'unknown' | 'gone' | 'refused' | 'failed' | 'aborted';

export interface EscalationResult {
  end: EscalationEnd;
  /** One line on why it ended where it did. */
  message: string;
  /** The steps that ran this time, in order. */
  steps: EscalationStepRecord[];
  /** The index of the first step that did not run (steps.length when completed). */
  nextStep: number;
}

export interface EscalationHooks {
  /**
   * The chain's condition measured now: true while it holds, false once it does not, undefined
   * when it cannot be told. Asked before every step.
   */
  holds(): boolean | undefined | Promise<boolean | undefined>;
  /** The identity confirmed before every step, and while waiting: `checkIdentity` for the process. */
  identity(): IdentityCheck;
  /** Carries out an action step (never a wait); should not reject, a rejection counts as failed. */
  act(step: ActionSpec, index: number): Promise<EscalationStepOutcome>;
  /** The process's RSS now, recorded after every step. */
  rss?(): number | undefined;
  /** Hears of every step as it ends: where the caller logs it, stores it, and saves progress. */
  onStep?(record: EscalationStepRecord): void;
  /** Resume here (a chain a previous watcher left half done); default 0. */
  startAt?: number;
  /** Stops the chain between steps and cuts a wait short. */
  signal?: AbortSignal;
  /** How often a wait looks whether the process is still there; default 250 ms. */
  waitPollMs?: number;
  /** Default Date.now. */
  wallMs?: () => number;
}

/** Where a chain reads its process from: a ProcReader. */
export interface LiveProcessSource {
  read(pid: number): { startTicks: number; state: string } | undefined;
}

/**
 * `checkIdentity` for a chain: a zombie counts as gone, since it runs no code, frees nothing and
 * cannot be signalled into anything; only its parent can reap it.
 */
export function checkChainIdentity(expected: ProcessIdentity, source: LiveProcessSource): IdentityCheck {
  const record = source.read(expected.pid);
  const check = checkIdentity(expected, {
    identity: (pid) => (record === undefined ? undefined : { pid, startTicks: record.startTicks }),
  });
  if (check.ok && (record?.state === 'Z' || record?.state === 'X')) {
    return { ok: false, code: 'ESRCH', message: `pid ${expected.pid} has exited (not reaped yet)` };
  }
  return check;
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function identityEnd(check: Exclude<IdentityCheck, { ok: true }>): EscalationEnd {
  return check.code === 'ESRCH' ? 'gone' : 'refused';
}

/**
 * Runs a chain from `startAt` to its end or until it must stop. Never rejects: a hook that throws
 * ends the chain as `failed`. Waits poll the identity, so a process that dies after SIGTERM ends
 * the chain at once instead of after the whole wait.
 */
export async function runEscalation(
  steps: readonly EscalationStep[],
  hooks: EscalationHooks,
): Promise<EscalationResult> {
  const wallMs = hooks.wallMs ?? Date.now;
  const pollMs = hooks.waitPollMs ?? 250;
  const records: EscalationStepRecord[] = [];
  const end = (how: EscalationEnd, message: string, nextStep: number): EscalationResult => ({
    end: how,
    message,
    steps: records,
    nextStep,
  });
  for (let index = Math.max(0, hooks.startAt ?? 0); index < steps.length; index++) {
    const step = steps[index];
    if (step === undefined) break;
    const text = stepText(step);
    try {
      if (hooks.signal?.aborted) return end('aborted', `stopped before step ${index + 1} (${text})`, index);
      const identity = hooks.identity();
      if (!identity.ok) return end(identityEnd(identity), identity.message, index);
      const holds = await hooks.holds();
      if (holds === false) {
        return end('cleared', `the condition no longer holds; step ${index + 1} (${text}) not needed`, index);
      }
      if (holds === undefined) {
        // A process that began to exit between the two reads cannot be measured: it is gone.
        const again = hooks.identity();
        if (!again.ok) return end(identityEnd(again), again.message, index);
        return end('unknown', `the condition cannot be measured now; stopped before ${text}`, index);
      }
      const started = performance.now();
      let outcome: EscalationStepOutcome;
      if (step.kind === 'wait') {
        outcome = await waitStep(step, hooks, pollMs);
        // A wait cut short is not done: a resumed chain waits again.
        if (hooks.signal?.aborted) return end('aborted', `stopped during step ${index + 1} (${text})`, index);
      } else {
        outcome = await hooks.act(step, index).catch((err: unknown) => ({
          ok: false,
          code: 'FAILED' as const,
          message: `${text} failed: ${String(err)}`,
        }));
      }
      const rssBytes = hooks.rss?.();
      const record: EscalationStepRecord = {
        index,
        text,
        ok: outcome.ok,
        message: outcome.message,
        time: wallMs(),
        durationMs: Math.round(performance.now() - started),
      };
      if (outcome.code !== undefined) record.code = outcome.code;
      if (rssBytes !== undefined) record.rssBytes = rssBytes;
      if (outcome.details !== undefined) record.details = outcome.details;
      records.push(record);
      hooks.onStep?.(record);
      if (!outcome.ok && outcome.code === 'ESRCH') return end('gone', outcome.message, index + 1);
      if (!outcome.ok && step.kind !== 'wait' && DESTRUCTIVE_ACTIONS.has(step.kind)) {
        return end('failed', `${text} failed (${outcome.message}); the chain stops there`, index + 1);
      }
    } catch (err) {
      return end('failed', `step ${index + 1} (${text}) could not run: ${String(err)}`, index);
    }
  }
  return end('completed', `all ${steps.length} steps ran`, steps.length);
}

/** A pause between steps; it ends early when the process goes away. */
async function waitStep(
  step: WaitStep,
  hooks: EscalationHooks,
  pollMs: number,
): Promise<EscalationStepOutcome> {
  const deadline = performance.now() + step.durationMs;
  for (;;) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) return { ok: true, message: `waited ${formatDuration(step.durationMs)}` };
    await pause(Math.min(remaining, pollMs), hooks.signal);
    if (hooks.signal?.aborted) return { ok: false, code: 'CANCELLED', message: 'wait cut short' };
    const identity = hooks.identity();
    if (!identity.ok) {
      return identity.code === 'ESRCH'
        ? { ok: false, code: 'ESRCH', message: `${identity.message} during the wait` }
        : { ok: false, code: identity.code, message: identity.message };
    }
  }
}
