import { dirname, join } from 'node:path';
import { ActionRunner, Notifier, Supervisor } from '../actions/index.js';
import type { WatchConfig } from '../config/index.js';
import { MemwardenError } from '../errors.js';
import { ProcReader } from '../proc/index.js';
import { defaultStorePath, openStore, type Store } from '../store/index.js';
import { formatDuration } from '../units/index.js';
import { actionProbes } from './probes.js';
import type { WatcherServices } from './watcher.js';

export interface ServiceOptions {
  /** `--store PATH`; overrides the config's. */
  storePath?: string | undefined;
  noStore: boolean;
  say: (line: string) => void;
  /** Each supervisor event as a record, for `--json` and `--log` (it is also said and stored). */
  onEvent?: (event: SupervisorEvent) => void;
}

/** What a supervisor did, as `--json`, `--log` and the history file keep it. */
export interface SupervisorEvent {
  time: number;
  kind: 'supervisor';
  event: 'started' | 'exited' | 'restart-scheduled' | 'gave-up' | 'problem';
  target: string;
  pid?: number;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * Opens what a watcher hands its results to: the history store, the action runner, and a
 * supervisor for every target memwarden starts itself (started here).
 */
export function startServices(config: WatchConfig, options: ServiceOptions): WatcherServices {
  let store: Store | undefined;
  const storeWanted = !options.noStore && config.store.enabled;
  const storePath = options.storePath ?? config.store.path ?? defaultStorePath();
  const started = config.targets.filter((t) => t.run).map((t) => t.name);
  if (!storeWanted && started.length > 0) {
    throw new MemwardenError(
      'MW_USAGE',
      `targets with run: (${started.join(', ')}) keep their restart counters and the process they started in the history file; drop --no-store`,
    );
  }
  if (storeWanted) {
    store = openStore(storePath, {
      createDirectory: options.storePath === undefined && config.store.path === undefined,
      retainMs: config.retainMs,
      onWriteError: (err) =>
        options.say(
          `cannot write history to ${storePath}: ${err.message} (samples are kept in memory and retried)`,
        ),
    });
  }
  const supervisors = new Map<string, Supervisor>();
  for (const target of config.targets) {
    if (!target.run || !store) continue;
    const supervisor = new Supervisor({
      name: target.name,
      argv: target.run,
      state: store,
      maxRestarts: target.restart?.max,
      windowMs: target.restart?.withinMs,
      backoffBaseMs: target.restart?.backoffMs,
      startSecsMs: target.restart?.startSecsMs,
      ...(target.cwd === undefined ? {} : { cwd: target.cwd }),
      outputPath: supervisedOutputPath(storePath, target.name),
      reenableHint: `reload the watcher (kill -HUP ${process.pid}) once it is fixed`,
    });
    // Restarts and give-ups are history, not only console lines: stored, and on --json/--log.
    const note = (
      event: SupervisorEvent['event'],
      message: string,
      extra: { pid?: number; details?: Record<string, unknown> } = {},
    ) => {
      const record: SupervisorEvent = {
        time: Date.now(),
        kind: 'supervisor',
        event,
        target: target.name,
        message,
        ...extra,
      };
      options.say(`${target.name}: ${message}`);
      store?.appendEvent({
        time: record.time,
        kind: 'supervisor',
        target: target.name,
        ...(extra.pid === undefined ? {} : { pid: extra.pid }),
        message,
        details: { event, ...extra.details },
      });
      options.onEvent?.(record);
    };
    supervisor.on('started', ({ pid }) => note('started', `started pid ${pid}`, { pid }));
    supervisor.on('exited', ({ pid, code, signal }) =>
      note('exited', `pid ${pid ?? '?'} ${exitDescription(code, signal)}`, {
        ...(pid === undefined ? {} : { pid }),
        details: { code, signal },
      }),
    );
    supervisor.on('backoff', ({ delayMs, restartsInWindow }) =>
      note(
        'restart-scheduled',
        `restart ${restartsInWindow + 1} of ${supervisor.maxRestarts} in ${formatDuration(delayMs)}`,
        { details: { delayMs, restart: restartsInWindow + 1, maxRestarts: supervisor.maxRestarts } },
      ),
    );
    supervisor.on('gave-up', ({ restarts, windowMs }) =>
      note('gave-up', supervisor.gaveUpReason(), { details: { restarts, windowMs } }),
    );
    supervisor.on('problem', ({ message }) => note('problem', message));
    if (supervisor.stateLoadError) note('problem', supervisor.stateLoadError);
    void supervisor.start();
    supervisors.set(target.name, supervisor);
  }
  const runner = new ActionRunner({
    identities: new ProcReader(),
    ...(store ? { journal: store } : {}),
    supervisors,
    probes: actionProbes(
      join(dirname(storePath), 'snapshots'),
      (pid, detail) => {
        options.say(`audit: woke the runtime of pid ${pid} from outside (${detail})`);
        store?.appendEvent({ time: Date.now(), kind: 'audit', pid, message: `runtime activated: ${detail}` });
      },
      config.probeUids,
    ),
  });
  const services: WatcherServices = { runner, supervisors };
  if (store) services.store = store;
  if (config.notify) services.notifier = new Notifier(config.notify, runner.webhooks);
  return services;
}

/**
 * Where a supervised process's stdout and stderr go: beside the history, one file per target
 * (`api.output.log`), so that a process that will not start says why somewhere.
 */
export function supervisedOutputPath(storePath: string, target: string): string {
  return join(dirname(storePath), `${target}.output.log`);
}

function exitDescription(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null) return `was killed by ${signal}`;
  return code === null ? 'exited' : `exited with code ${code}`;
}

/** Waits for running actions, lets go of supervised processes, flushes and closes the store. */
export async function stopServices(services: WatcherServices): Promise<void> {
  await services.runner?.close();
  // What memwarden started keeps running: a watcher that stops must not take services down.
  await Promise.all([...(services.supervisors?.values() ?? [])].map((s) => s.detach()));
  services.store?.close();
}
