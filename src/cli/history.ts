import { MemwardenError } from '../errors.js';
import { type HistoryPoint, type HistoryQuery, openHistory, ROW_LIMIT } from '../store/index.js';
import { formatBytes, formatPercent, parseDuration } from '../units/index.js';
import { parseCommandArgs, printJson } from './args.js';
import type { Command } from './command.js';
import { parseCountFlag } from './flags.js';
import { STORE_HELP, STORE_OPTIONS, storePathFor } from './store-path.js';

const OPTIONS = {
  since: { type: 'string' },
  until: { type: 'string' },
  ...STORE_OPTIONS,
  json: { type: 'boolean' },
  'max-points': { type: 'string' },
} as const;

const HELP = `Usage: memwarden history TARGET|PID [--since 1h] [--until TIME] [--store PATH | -c FILE] [--json]

Prints the stored samples of a watched target (its name in the watcher's config) or of a pid.

Options:
  --since TIME      start of the range: a duration ago (30m, 2h, 7d) or a date (2026-01-31T12:00);
                    default 1h
  --until TIME      end of the range, same forms; default now
${STORE_HELP}
  --max-points N    average longer ranges down to N points per process; default 1000
  --json            a JSON array of {time (ms epoch), target, pid, startTicks, rss, pss, uss,
                    swap, vms, cpuPercent, memPercent, memLimitPercent, threads}; a value that
                    was not read is left out. 'memwarden analyze' reads this back.

Older samples are stored as averages (1-minute after an hour, 10-minute after a day).
Exit codes: 0 ok, 1 no history file or it cannot be read, 2 a bad option.
`;

/** A duration means that long before now; anything else must be a date `Date.parse` accepts. */
function parseTime(flag: string, text: string, nowMs: number): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) {
      throw new MemwardenError(
        'MW_BAD_VALUE',
        `invalid ${flag} '${text}': expected e.g. 2h or 2026-01-31T12:00`,
      );
    }
    return ms;
  }
  return nowMs - parseDuration(text);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function table(points: readonly HistoryPoint[]): string {
  const rows = [
    ['TIME', 'PID', 'RSS', 'MEM%', 'CPU%'],
    ...points.map((p) => [
      formatTime(p.time),
      String(p.pid),
      formatBytes(p.rss),
      formatPercent(p.memPercent),
      formatPercent(p.cpuPercent),
    ]),
  ];
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

export const historyCommand: Command = {
  name: 'history',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, OPTIONS);
    if (positionals.length !== 1) {
      throw new MemwardenError('MW_USAGE', 'expected exactly one TARGET or PID (see --help)');
    }
    const subject = positionals[0] ?? '';
    const nowMs = Date.now();
    const sinceMs = parseTime('--since', values.since ?? '1h', nowMs);
    const untilMs = values.until === undefined ? undefined : parseTime('--until', values.until, nowMs);
    const maxPoints = parseCountFlag('--max-points', values['max-points']);
    const query: HistoryQuery = /^\d+$/.test(subject)
      ? { pid: Number(subject), sinceMs, untilMs, maxPoints }
      : { target: subject, sinceMs, untilMs, maxPoints };

    const store = openHistory(await storePathFor(values));
    let points: HistoryPoint[];
    try {
      if (query.target !== undefined && !store.targets().some((t) => t.target === query.target)) {
        const known = store.targets().map((t) => t.target);
        throw new MemwardenError(
          'MW_FAILED',
          `no history for target '${subject}'${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
        );
      }
      points = store.history(query);
    } finally {
      store.close();
    }
    if (points.length >= ROW_LIMIT) {
      process.stderr.write(
        `memwarden history: cut at ${ROW_LIMIT} rows; narrow --since or lower --max-points\n`,
      );
    }
    if (values.json) {
      printJson(points);
      return;
    }
    if (points.length === 0) {
      process.stdout.write(
        `no samples for ${query.pid !== undefined ? 'pid ' : ''}${subject} in that range\n`,
      );
      return;
    }
    process.stdout.write(`${table(points)}\n`);
  },
};
