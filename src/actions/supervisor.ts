import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, copyFileSync, openSync, statSync, truncateSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { CLOCK_TICKS_PER_SECOND, ProcReader, readUptimeSeconds } from '../proc/index.js';
import { formatDurationWords } from '../units/index.js';
import { backoffDelayMs } from './backoff.js';
import { type Clock, systemClock } from './clock.js';
import type { ResultCode } from './spec.js';
import type { SupervisorStateStore } from './supervisor-state.js';

export interface SupervisorOptions {
  /** The target's name in the config; also the key of its saved state. */
  name: string;
  /** `run: [argv]` from the config; started without a shell. */
  argv: string[];
  /** Where the restart counters are kept across watcher restarts. */
  state: SupervisorStateStore;
  /** Restarts allowed within `windowMs`; the exit after the last of them means giving up. */
  maxRestarts?: number;
  windowMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Between SIGTERM and SIGKILL to the child's process group when stopping it. */
  stopGraceMs?: number;
  /**
   * A start counts as successful once the process has run this long (supervisord's
   * `startsecs`, default 1 s): its exit after that is a new failure, and the restarts counted
   * before it are forgotten.
   */
  startSecsMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Where the process's stdout and stderr go (appended; nothing is kept without it). The file
   * is the process's own open file, so it keeps writing there when the watcher stops.
   */
  outputPath?: string;
  /** Above this the output file is copied to `<path>.1` and emptied: at most twice this on disk. */
  outputMaxBytes?: number;
  /** What to tell the operator to do to start it again after giving up. */
  reenableHint?: string;
  clock?: Clock;
}

export type SupervisorStatus = 'stopped' | 'running' | 'backoff' | 'gave-up';

export interface SupervisorEvents {
  started: [{ name: string; pid: number }];
  exited: [{ name: string; pid: number | undefined; code: number | null; signal: NodeJS.Signals | null }];
  backoff: [{ name: string; delayMs: number; restartsInWindow: number }];
  'gave-up': [{ name: string; restarts: number; windowMs: number }];
  /** A spawn failure, or saved state that could not be read; the supervisor carries on. */
  problem: [{ name: string; message: string }];
}

export type RestartOutcome = { ok: true; pid: number } | { ok: false; code: ResultCode; message: string };

/**
 * Runs one process that memwarden itself starts (`run:` in the config), each in its own process
 * group, and restarts it when it exits or when a rule asks, waiting longer before each restart.
 * After `maxRestarts` restarts within `windowMs` it gives up (state `gave-up`, one event) and
 * stays so until `reenable()`, even across a watcher restart: the counters are saved to the
 * state store (the history file) after every change. Windows and backoff use the monotonic
 * clock; the saved times are wall-clock and are clamped to now when they lie in the future (the
 * wall clock went back).
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly name: string;
  /** Why the saved state was ignored at start-up, if it was. */
  readonly stateLoadError: string | undefined;
  private readonly argv: string[];
  private readonly state: SupervisorStateStore;
  /** Restarts allowed within the window before it gives up. */
  readonly maxRestarts: number;
  private readonly windowMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly stopGraceMs: number;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly cwd: string | undefined;
  private readonly outputPath: string | undefined;
  private readonly outputMaxBytes: number;
  private outputTimer: NodeJS.Timeout | undefined;
  private readonly reenableHint: string;
  private readonly clock: Clock;
  /** Monotonic ms of each restart, oldest first. */
  private restarts: number[] = [];
  private readonly startSecsMs: number;
  /** Monotonic time the current child was spawned. */
  private spawnedAtMs = 0;
  private gaveUp = false;
  private stopped = true;
  private child: ChildProcess | undefined;
  private childExit: Promise<void> | undefined;
  /** The child being stopped on purpose: its exit is not a crash. */
  private stopping: ChildProcess | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  /** A restart in progress: a second request joins it instead of starting a second child. */
  private restarting: Promise<RestartOutcome> | undefined;
  /** The identity of the process it started (its own child, or one followed from a state file). */
  private running: { pid: number; startTicks: number } | undefined;
  /** A process an earlier watcher started and left running: watched by polling, not waited on. */
  private followed: { pid: number; startTicks: number } | undefined;
  private followTimer: NodeJS.Timeout | undefined;
  private readonly reader = new ProcReader();

  constructor(options: SupervisorOptions) {
    super();
    const [program] = options.argv;
    if (program === undefined || program === '')
      throw new TypeError(`supervisor ${options.name}: empty argv`);
    this.name = options.name;
    this.argv = [...options.argv];
    this.state = options.state;
    this.maxRestarts = options.maxRestarts ?? 3;
    this.windowMs = options.windowMs ?? 5 * 60_000;
    this.backoffBaseMs = options.backoffBaseMs ?? 1000;
    this.backoffMaxMs = options.backoffMaxMs ?? 60_000;
    this.stopGraceMs = options.stopGraceMs ?? 5000;
    this.startSecsMs = options.startSecsMs ?? 1000;
    this.env = options.env;
    this.cwd = options.cwd;
    this.outputPath = options.outputPath;
    this.outputMaxBytes = options.outputMaxBytes ?? DEFAULT_OUTPUT_MAX_BYTES;
    this.reenableHint = options.reenableHint ?? 're-enable it';
    this.clock = options.clock ?? systemClock;

    let saved: ReturnType<SupervisorStateStore['supervisor']>;
    try {
      saved = this.state.supervisor(this.name);
    } catch (err) {
      // Losing the counters is better than refusing to supervise.
      this.stateLoadError = `cannot read the saved state of ${this.name}: ${errnoCode(err) ?? String(err)}`;
    }
    if (saved !== undefined) {
      const wallNow = this.clock.wallMs();
      const monoNow = this.clock.monotonicMs();
      this.restarts = saved.restartWallMs
        .map((wall) => monoNow - (wallNow - Math.min(wall, wallNow)))
        .sort((a, b) => a - b);
      this.gaveUp = saved.gaveUp;
      this.running = saved.child;
    }
  }

  get status(): SupervisorStatus {
    if (this.gaveUp) return 'gave-up';
    if (this.child || this.followed) return 'running';
    if (this.backoffTimer) return 'backoff';
    return 'stopped';
  }

  /** The running child's pid. */
  get pid(): number | undefined {
    return this.child?.pid ?? this.followed?.pid;
  }

  /** Restarts counted against the limit now. */
  get restartsInWindow(): number {
    this.prune();
    return this.restarts.length;
  }

  /** Starts the process unless it runs already or the supervisor gave up. */
  start(): void {
    this.stopped = false;
    if (this.outputPath !== undefined && this.outputTimer === undefined) {
      this.outputTimer = setInterval(() => this.capOutput(), OUTPUT_CHECK_MS);
      this.outputTimer.unref();
    }
    if (this.gaveUp || this.child || this.followed || this.backoffTimer) return;
    const left = this.running;
    if (left && this.runsAs(left)) {
      this.follow(left);
      return;
    }
    this.spawnChild();
  }

  /**
   * Stops supervising and leaves the process running: memwarden does not own what it started,
   * so a watcher that stops (or restarts) never takes the service down. The next watcher
   * follows it from the state file.
   */
  async detach(): Promise<void> {
    this.stopped = true;
    clearInterval(this.outputTimer);
    this.outputTimer = undefined;
    clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    clearInterval(this.followTimer);
    this.followTimer = undefined;
    this.child?.unref();
    this.persist();
  }

  /** Watches a process that is not our child: its exit is seen by polling its identity. */
  private follow(process: { pid: number; startTicks: number }): void {
    this.followed = process;
    // Its run is counted from when it really started, for startsecs, not from when it was found:
    // its age from the uptime, as exact as the start time (the wall clock could have moved).
    const ageMs = (readUptimeSeconds(this.reader.root) - process.startTicks / CLOCK_TICKS_PER_SECOND) * 1000;
    this.spawnedAtMs = this.clock.monotonicMs() - Math.max(0, ageMs);
    let lastSeenMs = this.clock.monotonicMs();
    this.emit('started', { name: this.name, pid: process.pid });
    this.followTimer = setInterval(() => {
      if (this.runsAs(process)) {
        lastSeenMs = this.clock.monotonicMs();
        return;
      }
      clearInterval(this.followTimer);
      this.followTimer = undefined;
      this.followed = undefined;
      this.running = undefined;
      // Its exit is only known to lie after the last poll that saw it: a late poll (a busy
      // event loop) must not make a short run look like one that lasted startsecs.
      this.afterExit(lastSeenMs);
    }, FOLLOW_POLL_MS);
    this.followTimer.unref();
  }

  /** A restart asked for by a rule: stops the child, counts a restart, starts it again. */
  restart(): Promise<RestartOutcome> {
    if (this.restarting === undefined) {
      this.restarting = this.restartNow().finally(() => {
        this.restarting = undefined;
      });
    }
    return this.restarting;
  }

  private async restartNow(): Promise<RestartOutcome> {
    if (this.stopped)
      return { ok: false, code: 'NOT_SUPERVISED', message: `${this.name} is not being supervised` };
    if (this.gaveUp) return this.gaveUpOutcome();
    if (this.limitReached()) {
      this.giveUp();
      return this.gaveUpOutcome();
    }
    clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    await this.stopChild();
    if (this.stopped)
      return { ok: false, code: 'NOT_SUPERVISED', message: `${this.name} was stopped meanwhile` };
    this.countRestart();
    const pid = this.spawnChild();
    if (pid === undefined) return { ok: false, code: 'SPAWN_FAILED', message: `${this.name} did not start` };
    return { ok: true, pid };
  }

  /** Stops supervising: the child gets SIGTERM, then SIGKILL after the grace, and is reaped. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.outputTimer);
    this.outputTimer = undefined;
    clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    await this.stopChild();
  }

  /** Clears the counters and a given-up state (the operator's re-enable), then starts again. */
  reenable(): void {
    this.gaveUp = false;
    this.restarts = [];
    this.persist();
    this.start();
  }

  /** Keeps the output file under its cap: the last cap's worth is kept in `<path>.1`. */
  private capOutput(): void {
    if (this.outputPath === undefined) return;
    try {
      if (statSync(this.outputPath).size <= this.outputMaxBytes) return;
      copyFileSync(this.outputPath, `${this.outputPath}.1`);
      // The process appends (O_APPEND): after the truncation it goes on writing from the start.
      truncateSync(this.outputPath, 0);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT')
        this.emit('problem', {
          name: this.name,
          message: `cannot cap ${this.outputPath}: ${errnoCode(err) ?? String(err)}`,
        });
    }
  }

  /** The output file opened for the child to append to, or 'ignore' without one. */
  private openOutput(): number | 'ignore' {
    if (this.outputPath === undefined) return 'ignore';
    this.capOutput();
    try {
      return openSync(this.outputPath, 'a', 0o640);
    } catch (err) {
      this.emit('problem', {
        name: this.name,
        message: `cannot open ${this.outputPath} for its output (${errnoCode(err) ?? String(err)}); its output is dropped`,
      });
      return 'ignore';
    }
  }

  private spawnChild(): number | undefined {
    const [program, ...args] = this.argv;
    let child: ChildProcess;
    const output = this.openOutput();
    try {
      child = spawn(program ?? '', args, {
        shell: false,
        detached: true,
        stdio: ['ignore', output, output],
        env: this.env,
        cwd: this.cwd,
      });
    } catch (err) {
      // Invalid arguments throw instead of emitting 'error'; retrying cannot help.
      this.emit('problem', { name: this.name, message: `cannot start: ${String(err)}` });
      this.giveUp();
      return undefined;
    } finally {
      // The child holds its own copy of the descriptor.
      if (output !== 'ignore') closeSync(output);
    }
    this.child = child;
    this.spawnedAtMs = this.clock.monotonicMs();
    const startTicks = child.pid === undefined ? undefined : this.reader.identity(child.pid)?.startTicks;
    this.running =
      child.pid !== undefined && startTicks !== undefined ? { pid: child.pid, startTicks } : undefined;
    this.persist();
    this.childExit = new Promise((resolve) => {
      let done = false;
      const gone = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        resolve();
        this.onExit(child, code, signal);
      };
      child.once('exit', gone);
      child.once('error', (err) => {
        if (child.pid !== undefined) return;
        this.emit('problem', { name: this.name, message: `cannot start: ${errnoCode(err) ?? err.message}` });
        gone(null, null);
      });
    });
    if (child.pid !== undefined) this.emit('started', { name: this.name, pid: child.pid });
    return child.pid;
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child === child) {
      this.child = undefined;
      this.running = undefined;
    }
    this.emit('exited', { name: this.name, pid: child.pid, code, signal });
    if (this.stopping === child || this.stopped || this.gaveUp) return;
    this.afterExit();
  }

  /** The supervised process ended on its own: count, back off, start it again, or give up. */
  private afterExit(exitedAtMs = this.clock.monotonicMs()): void {
    if (exitedAtMs - this.spawnedAtMs >= this.startSecsMs && this.restarts.length > 0) {
      this.restarts = [];
      this.persist();
    }
    if (this.limitReached()) {
      this.giveUp();
      return;
    }
    const delayMs = backoffDelayMs(this.restarts.length, this.backoffBaseMs, this.backoffMaxMs);
    this.emit('backoff', { name: this.name, delayMs, restartsInWindow: this.restarts.length });
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      if (this.stopped || this.gaveUp) return;
      this.countRestart();
      this.spawnChild();
    }, delayMs);
  }

  private async stopChild(): Promise<void> {
    if (this.followed) {
      await this.stopFollowed(this.followed);
      return;
    }
    const child = this.child;
    const exited = this.childExit;
    if (child?.pid === undefined || exited === undefined) return;
    this.stopping = child;
    signalGroup(child.pid, 'SIGTERM');
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace'>((resolve) => {
      graceTimer = setTimeout(() => resolve('grace'), this.stopGraceMs);
    });
    if ((await Promise.race([exited, graceOver])) === 'grace') {
      signalGroup(child.pid, 'SIGKILL');
      await exited;
    }
    clearTimeout(graceTimer);
    this.stopping = undefined;
  }

  /** SIGTERM to a followed process's group, SIGKILL after the grace, and wait until it is gone. */
  private async stopFollowed(process: { pid: number; startTicks: number }): Promise<void> {
    clearInterval(this.followTimer);
    this.followTimer = undefined;
    const alive = () => this.runsAs(process);
    signalGroup(process.pid, 'SIGTERM');
    const graceEnd = this.clock.monotonicMs() + this.stopGraceMs;
    while (alive() && this.clock.monotonicMs() < graceEnd)
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS / 10));
    if (alive()) signalGroup(process.pid, 'SIGKILL');
    while (alive()) await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS / 10));
    this.followed = undefined;
    this.running = undefined;
  }

  /**
   * Whether the pid still runs as the process we started. A zombie does not: a process started by
   * a watcher that died is reparented, and its new parent may take a while to reap it.
   */
  private runsAs(process: { pid: number; startTicks: number }): boolean {
    const record = this.reader.read(process.pid);
    return record !== undefined && record.startTicks === process.startTicks && record.state !== 'Z';
  }

  private limitReached(): boolean {
    this.prune();
    return this.restarts.length >= this.maxRestarts;
  }

  private prune(): void {
    const oldest = this.clock.monotonicMs() - this.windowMs;
    while (this.restarts.length > 0 && (this.restarts[0] ?? 0) <= oldest) this.restarts.shift();
  }

  private countRestart(): void {
    this.restarts.push(this.clock.monotonicMs());
    this.persist();
  }

  private giveUp(): void {
    this.gaveUp = true;
    this.persist();
    this.emit('gave-up', { name: this.name, restarts: this.restarts.length, windowMs: this.windowMs });
  }

  private gaveUpOutcome(): RestartOutcome {
    return {
      ok: false,
      code: 'GAVE_UP',
      message: `${this.name} ${this.gaveUpReason()}`,
    };
  }

  /** `gave up after 5 restarts within 10 minutes; …`: what happened and how to undo it. */
  gaveUpReason(): string {
    return `gave up after ${this.maxRestarts} restart${this.maxRestarts === 1 ? '' : 's'} within ${formatDurationWords(this.windowMs)} and stays stopped; ${this.reenableHint} to start it again`;
  }

  private persist(): void {
    this.prune();
    const wallNow = this.clock.wallMs();
    const monoNow = this.clock.monotonicMs();
    this.state.saveSupervisor({
      name: this.name,
      restartWallMs: this.restarts.map((mono) => Math.round(wallNow - (monoNow - mono))),
      gaveUp: this.gaveUp,
      ...(this.running ? { child: this.running } : {}),
    });
  }
}

const DEFAULT_OUTPUT_MAX_BYTES = 10_000_000;
/** How often the output file's size is checked against its cap. */
const OUTPUT_CHECK_MS = 10_000;

/** How often a followed process (not our child) is checked for having exited. */
const FOLLOW_POLL_MS = 500;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}
