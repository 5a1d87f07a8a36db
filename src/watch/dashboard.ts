import { createServer } from 'node:net';
import type { ActionRunner } from '../actions/index.js';
import { MemwardenError } from '../errors.js';
import type { Tick } from '../export/index.js';
import { HistoryReader, type Store } from '../store/index.js';
import {
  type ActionHandler,
  DashboardServer,
  type HistorySource,
  LiveHistory,
  storeHistory,
} from '../ui/index.js';
import { ruleEventRow } from './event-row.js';
import { toExportTick } from './export-tick.js';
import type { Cycle, Watcher } from './watcher.js';

export interface DashboardWiring {
  host: string;
  port: number;
  token?: string;
  allowedHosts?: string[];
}

/**
 * Serves a running watcher: /metrics and the live values from its ticks, the charts from its
 * history file (read off the sampling thread) or, without one, from memory, and gc/snapshot on request — but only for a
 * process the watcher matches right now, as it saw it (same pid and start time).
 */
export async function serveWatcher(
  watcher: Watcher,
  wiring: DashboardWiring,
  services: { store?: Store; runner?: ActionRunner },
  intervalMs: number,
): Promise<DashboardServer> {
  const live = services.store ? undefined : new LiveHistory(Math.max(2, Math.ceil(3_600_000 / intervalMs)));
  // The charts read the history file from their own thread and connection: a query over
  // millions of rows must not hold up the cycles that share this one.
  const history: HistorySource = services.store
    ? storeHistory(new HistoryReader(services.store.path))
    : (live as LiveHistory);
  let latest: Cycle | undefined;
  const actions: ActionHandler = async (request) => {
    const match = latest?.targets
      .flatMap((t) => t.processes.map((p) => ({ target: t.name, sample: p })))
      .find((m) => m.sample.pid === request.pid);
    if (!match || (request.startTicks !== undefined && request.startTicks !== match.sample.startTicks)) {
      return { ok: false, message: `pid ${request.pid} is not a process this watcher matches` };
    }
    if (!services.runner) return { ok: false, message: `${request.action} is not available` };
    const result = await services.runner.run(
      { kind: request.action },
      {
        target: match.target,
        sample: match.sample,
        // The rule's name is what the action journal keeps: it says who asked.
        rule: `dashboard, asked by ${request.askedBy ?? 'an unknown caller'}`,
        message: `${request.action} asked from the dashboard by ${request.askedBy ?? 'an unknown caller'}`,
        cycle: latest?.cycle ?? 0,
      },
    );
    return { ok: result.ok, message: result.message };
  };
  const server = await DashboardServer.start({
    host: wiring.host,
    port: wiring.port,
    history,
    refreshMs: intervalMs,
    actions,
    allowedHosts: wiring.allowedHosts ?? [],
    ...(wiring.token ? { token: wiring.token } : {}),
  });
  watcher.on('tick', (tick) => {
    latest = tick;
    const exported: Tick = toExportTick(tick, watcher.counters);
    if (live) {
      live.push(exported);
      for (const k of tick.oomKills) {
        live.addEvent({
          time: k.time,
          kind: 'oom-killed',
          target: k.targets[0] ?? '',
          pid: k.pid,
          message: k.message,
        });
      }
      for (const e of tick.events) {
        live.addEvent({ time: tick.time, ...ruleEventRow(e) });
      }
    }
    server.publish(exported);
  });
  return server;
}

/**
 * Binds the dashboard's address once and lets it go, before the history file is created or a
 * supervised process is started: a port in use or an address not on this machine then fails
 * the start with nothing made. The dashboard binds it again moments later; a port taken in
 * between fails that bind as before.
 */
export async function checkListenable(host: string, port: number): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err) =>
      reject(new MemwardenError('MW_FAILED', `cannot listen on ${host}:${port}: ${err.message}`)),
    );
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
