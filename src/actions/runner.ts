import { EventEmitter } from 'node:events';
import { accountOf, identityKey, type ProcessIdentity } from '../proc/index.js';
import { type Clock, systemClock } from './clock.js';
import { runCommand } from './exec.js';
import { checkIdentity, type IdentitySource } from './identity.js';
import { OverlapGuard } from './overlap.js';
import type { ProbeOutcome, RuntimeProbes } from './probes.js';
import { ownPids, protectionReason } from './protect.js';
import { sendSignal } from './signal.js';
import type { ActionContext, ActionResult, ActionSpec, ResultCode } from './spec.js';
import { isDestructive } from './spec.js';
import type { Supervisor } from './supervisor.js';
import { actionEnv, substitute } from './template.js';
import { WebhookSender } from './webhook.js';
import { webhookPayload } from './webhook-payload.js';

/** Per stream, for an exec action that does not set its own cap. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
/** Attempts after the first, for a webhook that does not set its own. */
export const DEFAULT_WEBHOOK_RETRIES = 3;

export interface ActionRunnerOptions {
  /** Reads a pid's identity fresh before each action: the daemon's ProcReader. */
  identities: IdentitySource;
  /** gc, snapshot, trim; without them those actions report NOT_AVAILABLE. */
  probes?: RuntimeProbes;
  /** Supervisors by target name, for `restart`; the daemon may change the map on reload. */
  supervisors?: ReadonlyMap<string, Supervisor>;
  /** Shared by every webhook action; the runner makes one when none is given. */
  webhooks?: WebhookSender;
  /** Process actions running at once, over all processes. */
  maxConcurrent?: number;
  /** Actions waiting behind the running one for the same process; more are dropped. */
  maxQueuedPerProcess?: number;
  /** Actions waiting in all. */
  maxQueuedTotal?: number;
  /** exec: between SIGTERM and SIGKILL on timeout. */
  killGraceMs?: number;
  /** gc, snapshot, trim: the probe is aborted after this. */
  probeTimeoutMs?: number;
  /** restart: stopping and starting again, together. */
  restartTimeoutMs?: number;
  /** Refused besides pid 1, memwarden and its parent (which always are). */
  protectedPids?: Iterable<number>;
  /**
   * The user exec commands run as (scenario 16: a root watchdog should not run them as root);
   * memwarden's own user when absent.
   */
  execUser?: { uid: number; gid: number };
  /** The environment exec commands start from (memwarden's own by default). */
  baseEnv?: NodeJS.ProcessEnv;
  /** Where each action is journalled before it acts (the history file, in the daemon). */
  journal?: ActionJournal;
  clock?: Clock;
}

/**
 * A write-ahead record of actions: `beginAction` right before an action touches anything (its
 * row durable when it returns, so a watcher killed mid-action leaves a trace), `endAction` with
 * what came of it. Neither may throw.
 */
export interface ActionJournal {
  beginAction(
    intent: Pick<ActionResult, 'time' | 'action' | 'target' | 'rule' | 'pid' | 'startTicks'>,
  ): number;
  endAction(id: number, outcome: Pick<ActionResult, 'time' | 'ok' | 'code' | 'message'>): void;
}

export interface RunnerCounters {
  /** Results produced, refusals included. */
  results: number;
  /** Dropped because a queue was full. */
  dropped: number;
  suppressedOverlap: number;
  /** Refused before acting: protected, pid reused, identity unknown, gone. */
  refused: number;
}

export interface ActionRunnerEvents {
  result: [ActionResult];
}

type Outcome = Pick<ActionResult, 'ok' | 'code' | 'message' | 'output' | 'exitCode' | 'attempts' | 'details'>;

interface Job {
  spec: ActionSpec;
  context: ActionContext;
  key: string;
  startedMs: number;
  /** Its journal row, once it began acting. */
  journalId?: number;
  resolve(result: ActionResult): void;
}

const REFUSALS: ReadonlySet<ResultCode | undefined> = new Set([
  'PROTECTED',
  'PID_REUSED',
  'IDENTITY_UNKNOWN',
  'ESRCH',
]);

/**
 * Carries actions out beside the sampling loop, never inside it: `run()` returns at once with a
 * promise of the result, and every result is also emitted as a `result` event for the log and
 * the store. Actions on a process (signal, exec, restart, gc, snapshot, trim) run one at a time
 * per process identity, under a global cap, each bounded in time; just before acting, the pid's
 * start time is read again and a reused pid is left alone. `log` and `webhook` only report, so
 * they do not wait behind a slow action on the process they describe.
 */
export class ActionRunner extends EventEmitter<ActionRunnerEvents> {
  readonly counters: RunnerCounters = { results: 0, dropped: 0, suppressedOverlap: 0, refused: 0 };
  readonly webhooks: WebhookSender;
  private readonly identities: IdentitySource;
  private readonly probes: RuntimeProbes | undefined;
  private readonly supervisors: ReadonlyMap<string, Supervisor>;
  private readonly maxConcurrent: number;
  private readonly maxQueuedPerProcess: number;
  private readonly maxQueuedTotal: number;
  private readonly killGraceMs: number;
  private readonly probeTimeoutMs: number;
  private readonly restartTimeoutMs: number;
  private readonly protectedPids: ReadonlySet<number>;
  private readonly baseEnv: NodeJS.ProcessEnv;
  private readonly execUser: { uid: number; gid: number } | undefined;
  private readonly clock: Clock;
  private readonly journal: ActionJournal | undefined;
  private readonly overlap = new OverlapGuard();
  private readonly waiting: Job[] = [];
  /** Identity keys with an action running. */
  private readonly busy = new Set<string>();
  private outstanding = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(options: ActionRunnerOptions) {
    super();
    this.identities = options.identities;
    this.probes = options.probes;
    this.supervisors = options.supervisors ?? new Map();
    this.webhooks = options.webhooks ?? new WebhookSender();
    this.maxConcurrent = options.maxConcurrent ?? 4;
    this.maxQueuedPerProcess = options.maxQueuedPerProcess ?? 2;
    this.maxQueuedTotal = options.maxQueuedTotal ?? 256;
    this.killGraceMs = options.killGraceMs ?? 2000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 60_000;
    this.restartTimeoutMs = options.restartTimeoutMs ?? 30_000;
    this.protectedPids = new Set([...ownPids(), ...(options.protectedPids ?? [])]);
    this.baseEnv = options.baseEnv ?? process.env;
    this.execUser = options.execUser;
    this.clock = options.clock ?? systemClock;
    this.journal = options.journal;
  }

  /** Actions waiting for their turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Starts an action and returns at once; the promise never rejects. */
  run(spec: ActionSpec, context: ActionContext): Promise<ActionResult> {
    const startedMs = this.clock.monotonicMs();
    this.outstanding++;
    return new Promise<ActionResult>((resolve) => {
      const job: Job = { spec, context, key: identityKey(context.sample), startedMs, resolve };
      // Deferred so that no result (nor its event) arrives before run() has returned.
      queueMicrotask(() => {
        try {
          this.admit(job);
        } catch (err) {
          // Nothing may escape into the microtask queue, where it would take the daemon down.
          this.finish(job, { ok: false, code: 'FAILED', message: `action failed: ${String(err)}` });
        }
      });
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Holds a process for `holder` (the guard, naming its actions' `rule` so) until the returned
   * release is called: its destructive steps pass the one-per-cycle rule and go first in the
   * process's line, and every other rule's destructive action on it is refused meanwhile.
   */
  hold(identity: ProcessIdentity, holder: string): () => void {
    return this.overlap.hold(identityKey(identity), holder);
  }

  /** Cancels what waits, lets what runs finish (each is bounded), and closes the webhook sender. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) {
      this.finish(job, { ok: false, code: 'CANCELLED', message: 'the action runner was closed' });
    }
    this.webhooks.close();
    await this.idle();
  }

  private admit(job: Job): void {
    const { spec, context } = job;
    if (this.closed) {
      this.finish(job, { ok: false, code: 'CANCELLED', message: 'the action runner was closed' });
      return;
    }
    if (spec.kind === 'log') {
      this.finish(job, { ok: true, message: context.message });
      return;
    }
    if (spec.kind === 'webhook') {
      this.begin(job);
      void this.webhooks
        .send({
          url: spec.url,
          body: webhookPayload(context, this.clock.wallMs()),
          headers: spec.headers,
          timeoutMs: spec.timeoutMs,
          retries: spec.retries ?? DEFAULT_WEBHOOK_RETRIES,
        })
        .then((outcome) => this.finish(job, outcome));
      return;
    }
    const protectedBecause = protectionReason(context.sample, this.protectedPids);
    if (protectedBecause !== undefined) {
      this.finish(job, { ok: false, code: 'PROTECTED', message: protectedBecause });
      return;
    }
    if (isDestructive(spec.kind)) {
      const taken = this.overlap.claim(context.cycle, job.key, context.rule);
      if (taken !== undefined) {
        this.counters.suppressedOverlap++;
        this.finish(job, {
          ok: false,
          code: 'SUPPRESSED_OVERLAP',
          message: taken.held
            ? `the ${taken.holder} acts on pid ${context.sample.pid} until its chain has ended`
            : `rule ${taken.holder} already acts on pid ${context.sample.pid} this cycle`,
        });
        return;
      }
    }
    if (this.overlap.isHeldBy(job.key, context.rule)) {
      // The holder's step goes first in its process's line and is never dropped for a full one.
      const firstForSame = this.waiting.findIndex((w) => w.key === job.key);
      this.waiting.splice(firstForSame < 0 ? this.waiting.length : firstForSame, 0, job);
      this.pump();
      return;
    }
    const waitingForSame = this.waiting.filter((w) => w.key === job.key).length;
    const mustWait = this.busy.has(job.key) || waitingForSame > 0;
    const full =
      mustWait && waitingForSame >= this.maxQueuedPerProcess
        ? `${waitingForSame} actions already wait for pid ${context.sample.pid}`
        : this.waiting.length >= this.maxQueuedTotal
          ? `${this.waiting.length} actions already wait in all`
          : undefined;
    if (full !== undefined) {
      this.counters.dropped++;
      this.finish(job, { ok: false, code: 'DROPPED', message: `${full}; ${spec.kind} dropped` });
      return;
    }
    this.waiting.push(job);
    this.pump();
  }

  private pump(): void {
    for (let i = 0; i < this.waiting.length && this.busy.size < this.maxConcurrent; ) {
      const job = this.waiting[i];
      if (job === undefined || this.busy.has(job.key)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.busy.add(job.key);
      this.begin(job);
      void this.execute(job)
        .catch((err: unknown) => ({
          ok: false,
          code: 'FAILED' as const,
          message: `action failed: ${String(err)}`,
        }))
        .then((outcome) => {
          this.busy.delete(job.key);
          this.finish(job, outcome);
          this.pump();
        });
    }
  }

  private async execute(job: Job): Promise<Outcome> {
    const { spec, context } = job;
    const identity: ProcessIdentity = { pid: context.sample.pid, startTicks: context.sample.startTicks };
    const check = checkIdentity(identity, this.identities);
    if (!check.ok) return check;
    switch (spec.kind) {
      case 'signal':
        return sendSignal(identity.pid, spec.signal);
      case 'exec': {
        // Looked up now, not at load: a user removed since then fails this command, nothing more.
        const account = spec.user === undefined ? this.execUser : accountOf(spec.user, spec.group);
        if (typeof account === 'string')
          return { ok: false, code: 'SPAWN_FAILED', message: `cannot run ${spec.argv[0]}: ${account}` };
        return runCommand({
          argv: substitute(spec.argv, context),
          env: { ...this.baseEnv, ...actionEnv(context) },
          timeoutMs: spec.timeoutMs,
          maxOutputBytes: spec.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
          killGraceMs: this.killGraceMs,
          ...(account === undefined ? {} : { user: account }),
          ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
        });
      }
      case 'restart':
        return this.restart(context.target);
      case 'gc':
      case 'snapshot':
      case 'trim':
        return this.probe(spec.kind, identity);
      default:
        return { ok: false, code: 'FAILED', message: `${spec.kind} is not an action on a process` };
    }
  }

  private async restart(target: string): Promise<Outcome> {
    const supervisor = this.supervisors.get(target);
    if (supervisor === undefined) {
      return {
        ok: false,
        code: 'NOT_SUPERVISED',
        message: `${target} was not started by memwarden (no run:)`,
      };
    }
    const outcome = await withDeadline(supervisor.restart(), this.restartTimeoutMs);
    if (outcome === undefined) {
      return {
        ok: false,
        code: 'TIMEOUT',
        message: `restart of ${target} took over ${this.restartTimeoutMs} ms`,
      };
    }
    return outcome.ok ? { ok: true, message: `${target} restarted as pid ${outcome.pid}` } : outcome;
  }

  private async probe(kind: 'gc' | 'snapshot' | 'trim', identity: ProcessIdentity): Promise<Outcome> {
    if (this.probes === undefined) {
      return {
        ok: false,
        code: 'NOT_AVAILABLE',
        message: `${kind} is not available: this runner was given no runtime probes`,
      };
    }
    const controller = new AbortController();
    const call = this.probes[kind](identity.pid, identity, {
      timeoutMs: this.probeTimeoutMs,
      signal: controller.signal,
    });
    const outcome: ProbeOutcome | undefined = await withDeadline(call, this.probeTimeoutMs);
    if (outcome === undefined) {
      controller.abort();
      return {
        ok: false,
        code: 'TIMEOUT',
        message: `${kind} did not finish within ${this.probeTimeoutMs} ms`,
      };
    }
    return outcome;
  }

  private begin(job: Job): void {
    if (this.journal === undefined) return;
    job.journalId = this.journal.beginAction({
      time: this.clock.wallMs(),
      action: job.spec.kind,
      target: job.context.target,
      rule: job.context.rule,
      pid: job.context.sample.pid,
      startTicks: job.context.sample.startTicks,
    });
  }

  private finish(job: Job, outcome: Outcome): void {
    const { context, spec } = job;
    const result: ActionResult = {
      action: spec.kind,
      target: context.target,
      rule: context.rule,
      pid: context.sample.pid,
      startTicks: context.sample.startTicks,
      ok: outcome.ok,
      message: outcome.message,
      time: this.clock.wallMs(),
      durationMs: Math.max(0, Math.round(this.clock.monotonicMs() - job.startedMs)),
    };
    if (outcome.code !== undefined) result.code = outcome.code;
    if (outcome.output !== undefined) result.output = outcome.output;
    if (outcome.exitCode !== undefined) result.exitCode = outcome.exitCode;
    if (outcome.attempts !== undefined) result.attempts = outcome.attempts;
    if (outcome.details !== undefined) result.details = outcome.details;
    this.counters.results++;
    if (REFUSALS.has(outcome.code)) this.counters.refused++;
    if (job.journalId !== undefined) this.journal?.endAction(job.journalId, result);
    try {
      this.emit('result', result);
    } catch (err) {
      // A listener's bug must not break the runner or reach the sampling loop.
      process.emitWarning(`memwarden: an action result listener threw: ${String(err)}`);
    }
    job.resolve(result);
    this.outstanding--;
    if (this.outstanding === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

/** The promise's value, or undefined once `ms` have passed first. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
