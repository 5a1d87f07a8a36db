import { runTopInteractive, runTopPlain } from '../ui/index.js';
import { parseDuration } from '../units/index.js';
import { probeActions, Ticker } from '../watch/index.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './command.js';
import { parseCountFlag, parseIntervalFlag } from './flags.js';

const HELP = `Usage: memwarden top [PATTERN…] [options]

A live view of processes by memory: the machine's memory at the top, then one row per process
that a PATTERN (a substring of the command line) matches, or every process without a pattern:
RSS, PSS (with --pss), memory % of the machine and of its cgroup limit, CPU %, growth per hour
(the trend detector's, "?Nm" until it has minutes of evidence) and a sparkline of the last
minutes. On a narrow terminal columns narrow or drop and COMMAND takes what is left.

With more than one PATTERN (or --group) rows are grouped: a total row per target (▾/▸, the
number of processes, sums of RSS, CPU %, memory % and growth, and of PSS with --pss, which divides
shared pages among their users and so is the honest whole; the RSS sum counts them once per
process), then its processes. One PATTERN or none starts with one row per process.

Keys: s cycle sort (rss, cpu, growth, mem, pid) · / filter · ↑↓ select · t group by target on
or off · + - or Space fold the selected row's group · * fold or unfold all · g gc / S heap
snapshot on the selected process (asks y/n first) · q quit.

When stdout is not a terminal, prints a plain table at each refresh instead.

Options:
  --interval DURATION  time between refreshes (default 2s)
  --window DURATION    how far back growth and the sparkline look (default 5m)
  --count N            stop after N refreshes
  --json               one JSON line per refresh (implies the plain mode)
  --group              start grouped by target, with a total row per target
  --pss                also read PSS and show its column (others' processes need root), on the
                       watcher's time budget: a value not read this refresh is its last one
`;

export const topCommand: Command = {
  name: 'top',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      interval: { type: 'string' },
      window: { type: 'string' },
      count: { type: 'string' },
      pss: { type: 'boolean' },
      json: { type: 'boolean' },
      group: { type: 'boolean' },
    });
    const intervalMs = parseIntervalFlag(values.interval, 2000);
    const windowMs = parseDuration(values.window ?? '5m');
    const count = parseCountFlag('--count', values.count);
    const targets =
      positionals.length > 0
        ? positionals.map((p) => ({ name: p, filter: { substrings: [p] } }))
        : [{ name: 'all', filter: { all: true } }];
    const sampler = new Ticker(targets, { pss: values.pss ?? false, intervalMs });
    const common = {
      sample: () => sampler.tick(),
      intervalMs,
      windowMs,
      pss: values.pss ?? false,
      // As htop's tree view: one target is a flat list, several are shown as groups.
      group: values.group ?? targets.length > 1,
      output: process.stdout,
      ...(count === undefined ? {} : { count }),
    };
    try {
      if (process.stdout.isTTY && process.stdin.isTTY && !values.json)
        await runTopInteractive({ ...common, input: process.stdin, actions: probeActions });
      else await runTopPlain({ ...common, json: values.json ?? false });
    } finally {
      sampler.close();
    }
  },
};
