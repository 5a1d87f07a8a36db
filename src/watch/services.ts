import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ActionRunner, Supervisor } from '../actions/index.js';
import { ProcReader } from '../proc/index.js';
import { defaultStorePath, openStore, type Store } from '../store/index.js';
import type { WatchConfig } from './config.js';
import { actionProbes } from './probes.js';
import type { WatcherServices } from './watcher.js';

export interface ServiceOptions {
  /** `--store PATH`; overrides the config's. */
  storePath?: string | undefined;
  noStore: boolean;
  say: (line: string) => void;
}

/**
 * Opens what a watcher hands its results to: the history store, the action runner, and a
 * supervisor for every target memwarden starts itself (started here).
 */
export function startServices(config: WatchConfig, options: ServiceOptions): WatcherServices {
  let store: Store | undefined;
  const storeWanted = !options.noStore && config.store.enabled;
  const storePath = options.storePath ?? config.store.path ?? defaultStorePath();
  if (storeWanted) {
    store = openStore(storePath, {
      retainMs: config.retainMs,
      onWriteError: (err) =>
        options.say(
          `cannot write history to ${storePath}: ${err.message} (samples are kept in memory and retried)`,
        ),
    });
  }
  const supervisors = new Map<string, Supervisor>();
  const stateDir = join(dirname(storePath), 'supervised');
  for (const target of config.targets) {
    if (!target.run) continue;
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const supervisor = new Supervisor({
      name: target.name,
      argv: target.run,
      stateDir,
      maxRestarts: target.restart?.max,
      windowMs: target.restart?.withinMs,
      backoffBaseMs: target.restart?.backoffMs,
      startSecsMs: target.restart?.startSecsMs,
    });
    supervisor.on('gave-up', () =>
      options.say(`${target.name}: restarted too often; gave up (it stays stopped)`),
    );
    supervisor.on('problem', ({ message }) => options.say(`${target.name}: ${message}`));
    void supervisor.start();
    supervisors.set(target.name, supervisor);
  }
  const runner = new ActionRunner({
    identities: new ProcReader(),
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
  return services;
}

/** Waits for running actions, lets go of supervised processes, flushes and closes the store. */
export async function stopServices(services: WatcherServices): Promise<void> {
  await services.runner?.close();
  // What memwarden started keeps running: a watcher that stops must not take services down.
  await Promise.all([...(services.supervisors?.values() ?? [])].map((s) => s.detach()));
  services.store?.close();
}
