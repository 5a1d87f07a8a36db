import { DEFAULT_INTERVAL_MS, loadConfig, type WatchConfig } from '../config/index.js';
import { MemwardenError } from '../errors.js';
import { uidOf } from '../proc/index.js';
import { printable } from '../ui/index.js';
import { formatBytes, parseListen } from '../units/index.js';
import {
  checkListenable,
  JsonLinesFile,
  loadTimeWarnings,
  quickConfig,
  serveWatcher,
  startServices,
  stopServices,
  TickJsonLines,
  tickLines,
  Watcher,
} from '../watch/index.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './command.js';
import { parseCountFlag, parseIntervalFlag } from './flags.js';
import { releaseHangups } from './hangup.js';
import { onStdoutClosed } from './output.js';

const HELP = `Usage: memwarden watch -c memwarden.yaml [options]
       memwarden watch --match PATTERN [--match PATTERN…] [options]

Samples the matched processes and the machine every interval, logs each cycle, evaluates the
rules and carries out their actions. SIGHUP reloads the config file (a bad one keeps the old
config running); SIGINT and SIGTERM stop after flushing.

Config:
  -c, --config FILE          the YAML config (see docs/rules.md)
  --allow-insecure-config    as root, accept a config file that others could have written

Quick mode (no config file):
  --match PATTERN            a command-line substring; one target per pattern (repeatable)
  --interval DURATION        time between cycles (default 10s)
  --gc-above 40%|500MB       ask the process to release memory above this (mem% or RSS)
  --probe-user USER          a user whose processes gc/snapshot/trim may open up (repeatable;
                             replaces probe_users; default: memwarden's own uid, none as root)

Dashboard and Prometheus:
  --listen HOST:PORT         serve the dashboard on /, metrics on /metrics (127.0.0.1 unless
                             told; any other address needs a token)
  --token TOKEN              the token (prefer env MEMWARDEN_TOKEN: a flag shows in ps)

History:
  --store PATH               the SQLite history file, in a directory that exists (default
                             $XDG_STATE_HOME/memwarden/history.db, its directory made if missing);
                             also what a restarted watcher remembers: cooldowns, restart counts,
                             the processes it started, actions it never saw finish
  --no-store                 keep no history and remember nothing (not with targets that have run:)

Output:
  --log FILE                 JSON lines, one object per line, rotated by size (its directory must exist)
  --json                     JSON lines on stdout instead of the readable lines
  --count N                  stop after N cycles
`;

async function configFrom(values: Record<string, unknown>): Promise<{ config: WatchConfig; path?: string }> {
  const configPath = values.config as string | undefined;
  const matches = (values.match as string[] | undefined) ?? [];
  if (configPath !== undefined && matches.length > 0) {
    throw new MemwardenError('MW_USAGE', 'give either -c FILE or --match patterns, not both');
  }
  const probeUids = probeUsersFlag(values['probe-user'] as string[] | undefined);
  if (configPath !== undefined) {
    const config = await loadConfig(configPath, { allowInsecure: values['allow-insecure-config'] === true });
    // The flag overrides the file's interval, held to the same floor.
    if (values.interval !== undefined) config.intervalMs = parseIntervalFlag(values.interval as string, 0);
    if (probeUids) config.probeUids = probeUids;
    return { config, path: configPath };
  }
  if (matches.length === 0)
    throw new MemwardenError('MW_USAGE', 'nothing to watch: give -c FILE or --match PATTERN');
  const interval = values.interval as string | undefined;
  const config = quickConfig({
    patterns: matches,
    intervalMs: parseIntervalFlag(interval, DEFAULT_INTERVAL_MS),
    ...(values['gc-above'] === undefined ? {} : { gcAbove: values['gc-above'] as string }),
  });
  if (probeUids) config.probeUids = probeUids;
  return { config };
}

function probeUsersFlag(users: string[] | undefined): number[] | undefined {
  return users?.map((user) => {
    const uid = uidOf(user);
    if (uid === undefined) throw new MemwardenError('MW_USAGE', `--probe-user: unknown user '${user}'`);
    return uid;
  });
}

/** The flags `watch` and `guard` both take: the config, the interval, output, history, dashboard. */
export const WATCHER_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'allow-insecure-config': { type: 'boolean' },
  interval: { type: 'string' },
  log: { type: 'string' },
  json: { type: 'boolean' },
  count: { type: 'string' },
  store: { type: 'string' },
  'no-store': { type: 'boolean' },
  listen: { type: 'string' },
  token: { type: 'string' },
} as const;

export const watchCommand: Command = {
  name: 'watch',
  help: HELP,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      ...WATCHER_OPTIONS,
      match: { type: 'string', multiple: true },
      'gc-above': { type: 'string' },
      'probe-user': { type: 'string', multiple: true },
    });
    const { config, path } = await configFrom(values);
    await runWatcher(config, path, values, 'watch');
  },
};

/** The flags `watch` and `guard` share: where output goes, the history, the dashboard. */
export interface WatcherFlags {
  log?: string | undefined;
  json?: boolean | undefined;
  count?: string | undefined;
  store?: string | undefined;
  'no-store'?: boolean | undefined;
  listen?: string | undefined;
  token?: string | undefined;
  'allow-insecure-config'?: boolean | undefined;
}

/**
 * Runs a watcher for a loaded config until SIGINT/SIGTERM or --count: its lines on stdout (or
 * JSON lines), the log, the history, the dashboard; SIGHUP reloads `path` when there is one.
 */
export async function runWatcher(
  config: WatchConfig,
  path: string | undefined,
  values: WatcherFlags,
  command: string,
): Promise<void> {
  if (values.store !== undefined && values['no-store']) {
    throw new MemwardenError('MW_USAGE', 'give either --store PATH or --no-store, not both');
  }
  const count = parseCountFlag('--count', values.count);
  // A listen that would fail fails before the log, the history file or any process is made.
  const listen = values.listen === undefined ? config.listen : parseListen(values.listen);
  if (listen) await checkListenable(listen.host, listen.port);
  const logPath = values.log ?? config.log?.path;
  const log =
    logPath === undefined ? undefined : new JsonLinesFile(logPath, config.log?.maxSizeBytes ?? 10_000_000);
  const say = (line: string) => process.stderr.write(`memwarden ${command}: ${line}\n`);
  const services = startServices(config, {
    storePath: values.store,
    noStore: values['no-store'] ?? false,
    say,
    onEvent: (event) => {
      const record = { ...event, time: new Date(event.time).toISOString() };
      if (values.json) process.stdout.write(`${JSON.stringify(record)}\n`);
      log?.write(record);
    },
  });
  const watcher = new Watcher(config, services);
  const token = values.token ?? process.env.MEMWARDEN_TOKEN;
  const server = listen
    ? await serveWatcher(
        watcher,
        { ...listen, ...(token ? { token } : {}) },
        services,
        config.intervalMs,
      ).catch(async (err: unknown) => {
        await stopServices(services);
        throw err;
      })
    : undefined;
  if (server) say(`dashboard on ${server.url}, metrics on ${server.url}metrics`);
  for (const w of config.warnings) say(`${w.file}:${w.line ?? 0}:${w.column ?? 0}: warning: ${w.message}`);
  for (const w of loadTimeWarnings(config)) say(`warning: ${w}`);
  const unfinished = services.store?.unfinishedActions;
  if (unfinished && unfinished.count > 0) {
    say(
      `the previous watcher stopped during ${unfinished.count} action(s); their outcome is unknown (marked so in the history):`,
    );
    for (const a of unfinished.listed)
      say(`  ${a.action} on pid ${a.pid} (${printable(a.rule)}), begun ${new Date(a.time).toISOString()}`);
  }

  // One encoding of each cycle serves the log file and --json alike.
  const jsonLines = log || values.json ? new TickJsonLines() : undefined;
  watcher.on('tick', (tick) => {
    const lines = jsonLines?.encode(tick);
    if (log && lines) log.writeLines(lines);
    if (values.json && lines) process.stdout.write(lines);
    else process.stdout.write(`${tickLines(tick).join('\n')}\n`);
  });
  watcher.on('action', (result) => {
    const line = `${result.target}  ${result.action} on pid ${result.pid}: ${result.ok ? 'ok' : `failed (${result.code ?? 'error'})`}: ${result.message}`;
    if (!values.json)
      process.stdout.write(`${new Date(result.time).toTimeString().slice(0, 8)}  ${printable(line)}\n`);
    const record = { ...result, time: new Date(result.time).toISOString(), kind: 'action' };
    if (values.json) process.stdout.write(`${JSON.stringify(record)}\n`);
    log?.write(record);
  });
  watcher.on('escalation', (notice) => {
    const on = notice.group
      ? `on target ${notice.target}${notice.pid === undefined ? '' : ` (pid ${notice.pid})`}`
      : `on pid ${notice.pid}`;
    const line = `${notice.target}  ${notice.rule} ${on}: ${notice.message}${
      notice.step?.rssBytes === undefined ? '' : ` (RSS now ${formatBytes(notice.step.rssBytes)})`
    }`;
    if (!values.json)
      process.stdout.write(`${new Date(notice.time).toTimeString().slice(0, 8)}  ${printable(line)}\n`);
    const record = { ...notice, time: new Date(notice.time).toISOString(), kind: 'escalation' };
    if (values.json) process.stdout.write(`${JSON.stringify(record)}\n`);
    log?.write(record);
  });
  watcher.on('warning', (message) => {
    say(message);
    log?.write({ time: new Date().toISOString(), kind: 'warning', message });
  });
  const guard = watcher.guardDescription;
  if (guard !== undefined) say(guard);
  watcher.on('guard', (event) => {
    const record = { ...event, time: new Date(event.time).toISOString() };
    if (values.json) process.stdout.write(`${JSON.stringify(record)}\n`);
    else
      process.stdout.write(
        `${new Date(event.time).toTimeString().slice(0, 8)}  ${printable(event.message)}\n`,
      );
    log?.write(record);
  });

  const stop = () => watcher.stop();
  const reload = async () => {
    if (path === undefined) return;
    try {
      watcher.applyConfig(
        await loadConfig(path, { allowInsecure: values['allow-insecure-config'] === true }),
      );
      watcher.counters.configLastReloadSuccess = 1;
      say(`reloaded ${path}`);
      // A reload is also how an operator starts again what gave up restarting.
      for (const supervisor of services.supervisors?.values() ?? []) {
        if (supervisor.status !== 'gave-up') continue;
        supervisor.reenable();
        say(`${supervisor.name}: re-enabled by the reload`);
      }
    } catch (err) {
      watcher.counters.configLastReloadSuccess = 0;
      say(`reload of ${path} failed; the previous config stays in force:`);
      for (const line of (err instanceof Error ? err.message : String(err)).split('\n')) say(`  ${line}`);
    }
  };
  const onHup = () => void reload();
  // A reader that stopped reading (`watch --json | head -1`) ends the watch as SIGTERM would.
  const unwatchStdout = onStdoutClosed(stop);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', onHup);
  // A SIGHUP held since start-up (it came before this handler) is a reload asked for.
  if (releaseHangups()) onHup();
  try {
    await watcher.run(count);
  } finally {
    unwatchStdout();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.off('SIGHUP', onHup);
    await server?.close();
    await stopServices(services);
    log?.close();
  }
}
