import { HistoryReader, openHistory } from '../store/index.js';
import { DashboardServer, isLoopbackHost, LiveHistory, storeHistory } from '../ui/index.js';
import { parseDuration, parseListen } from '../units/index.js';
import { Ticker } from '../watch/index.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './command.js';
import { parseIntervalFlag } from './flags.js';
import { STORE_OPTIONS, storePathFor } from './store-path.js';

const HELP = `Usage: memwarden serve [PATTERN…] [options]

Samples the processes each PATTERN matches (a substring of the command line; each pattern is
one target) and serves the dashboard on /, Prometheus metrics on /metrics and the JSON API on
/api/. History is kept in memory for --retain.

Options:
  --listen HOST:PORT   address to listen on (default 127.0.0.1:9464); anything but loopback
                       needs a token
  --token TOKEN        require this token (at least 16 characters). Prefer env MEMWARDEN_TOKEN:
                       a flag shows in every user's ps. Browsers open /?token=TOKEN once;
                       scrapers send Authorization: Bearer TOKEN
  --allow-host NAME    also accept this name in the Host header (repeatable)
  --interval DURATION  time between samples (default 5s)
  --retain DURATION    history kept in memory (default 1h)
  --pss                also read PSS (others' processes need root), on the watcher's time
                       budget: a value not read this cycle is its last one, with its age
  --store PATH         chart the history file a 'memwarden watch' keeps (read only) instead of
                       the in-memory history; the PATTERNs still give the live values
  -c, --config FILE    chart the history file that config names (its store:)
`;

export const serveCommand: Command = {
  name: 'serve',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      listen: { type: 'string' },
      token: { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      interval: { type: 'string' },
      retain: { type: 'string' },
      pss: { type: 'boolean' },
      ...STORE_OPTIONS,
    });
    const { host, port } = parseListen(values.listen ?? '127.0.0.1:9464');
    const intervalMs = parseIntervalFlag(values.interval, 5000);
    const retainMs = parseDuration(values.retain ?? '1h');
    const token = values.token ?? process.env.MEMWARDEN_TOKEN;
    const history = new LiveHistory(Math.max(2, Math.ceil(retainMs / intervalMs)));
    const sampler = new Ticker(
      positionals.map((p) => ({ name: p, filter: { substrings: [p] } })),
      { pss: values.pss ?? false, intervalMs },
    );
    const storePath =
      values.store === undefined && values.config === undefined ? undefined : await storePathFor(values);
    // Opened here only to refuse a missing or foreign file at once; the charts read it from
    // their own thread, so that a long query does not hold up the sampling.
    if (storePath !== undefined) openHistory(storePath).close();
    const reader = storePath === undefined ? undefined : new HistoryReader(storePath);
    const server = await DashboardServer.start({
      host,
      port,
      history: reader ? storeHistory(reader) : history,
      refreshMs: intervalMs,
      allowedHosts: values['allow-host'] ?? [],
      ...(token ? { token } : {}),
    });
    process.stderr.write(`memwarden serve: listening on ${server.url}\n`);
    if (token && !isLoopbackHost(host))
      process.stderr.write(
        'memwarden serve: plain HTTP carries the token in the clear; put a TLS proxy in front for other machines\n',
      );
    const tick = () => {
      const t = sampler.tick();
      history.push(t);
      server.publish(t);
    };
    tick();
    const timer = setInterval(tick, intervalMs);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    clearInterval(timer);
    sampler.close();
    await server.close();
  },
};
