import { MemwardenError } from '../errors.js';
import {
  type HistoryPoint,
  type HistoryQuery,
  openHistory,
  ROW_LIMIT,
  type SystemPoint,
} from '../store/index.js';
import { byTime, type Column, type GroupTotal, groupTotal, renderTable } from '../ui/index.js';
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
  system: { type: 'boolean' },
} as const;

const HELP = `Usage: memwarden history TARGET|PID [--since 1h] [--until TIME] [--store PATH | -c FILE] [--json]
       memwarden history --system [--since 1h] [--until TIME] [--store PATH | -c FILE] [--json]

Prints the stored samples of a watched target (its name in the watcher's config) or of a pid;
with --system, the machine's: available memory, memory used %, CPU % and memory pressure.

Options:
  --since TIME      start of the range: a duration ago (30m, 2h, 7d) or a date (2026-01-31T12:00);
                    default 1h
  --until TIME      end of the range, same forms; default now
${STORE_HELP}
  --max-points N    average longer ranges down to N points per process; default 1000
  --json            a JSON array of {time (ms epoch), target, pid, startTicks, rss, pss, uss,
                    swap, vms, cpuPercent, memPercent, memLimitPercent, threads, cgroupPsiSome,
                    cgroupPsiFull (the process's cgroup v2 memory pressure, avg10 %)}; a value
                    that was not read is left out. 'memwarden analyze' reads this back.
                    For a TARGET each point also has total: {count (processes at that time),
                    rss, pss (null unless every one had PSS), basis ('pss' or 'rss': which sum
                    the group's total is)}; the text table has a total row per time.
                    With --system: {time, memTotal, memAvailable, memUsed, memPercent, swapTotal,
                    swapFree, cpuCount, cpuPercent, load1, load5, load15, pressure: {some, full:
                    {avg10, avg60, avg300 (% of time stalled), totalUs}}}; pressure is left out
                    where the kernel keeps none.

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

function memberRow(p: HistoryPoint): string[] {
  return [
    formatTime(p.time),
    String(p.pid),
    formatBytes(p.rss),
    formatBytes(p.pss),
    formatPercent(p.memPercent),
    formatPercent(p.cpuPercent),
  ];
}

/** A pid's rows; a target's rows with a total row after each time's members. */
function table(points: readonly HistoryPoint[], withTotals: boolean): string {
  const header = ['TIME', 'PID', 'RSS', 'PSS', 'MEM%', 'CPU%'];
  if (!withTotals) return columns([header, ...points.map(memberRow)]);
  const rows = [[...header, 'TOTAL']];
  for (const [time, members] of byTime(points)) {
    const t = groupTotal(members);
    rows.push(...members.map((m) => [...memberRow(m), '']), [
      formatTime(time),
      `total ${t.count}`,
      formatBytes(t.rss),
      formatBytes(t.pss ?? undefined),
      '',
      '',
      `${formatBytes(t.pss ?? t.rss)} ${t.basis.toUpperCase()}`,
    ]);
  }
  return columns(rows);
}

/** Each of a target's points with its time's group total beside it. */
function withTotals(points: readonly HistoryPoint[]): (HistoryPoint & { total: GroupTotal })[] {
  return byTime(points).flatMap(([, members]) => {
    const total = groupTotal(members);
    return members.map((m) => ({ ...m, total }));
  });
}

/** The machine's rows; PSI columns are the avg10 share of time some / all tasks stalled on memory. */
function systemTable(points: readonly SystemPoint[]): string {
  return columns([
    ['TIME', 'AVAILABLE', 'MEM%', 'CPU%', 'PSI SOME', 'PSI FULL'],
    ...points.map((p) => [
      formatTime(p.time),
      formatBytes(p.memAvailable),
      formatPercent(p.memPercent),
      formatPercent(p.cpuPercent),
      formatPercent(p.pressure?.some.avg10),
      formatPercent(p.pressure?.full?.avg10),
    ]),
  ]);
}

/** Rows of cells under their header: the first column left-aligned, the numbers right-aligned. */
function columns([header = [], ...rows]: readonly string[][]): string {
  return renderTable(
    rows,
    header.map(
      (name, i): Column<readonly string[]> => ({
        header: name,
        value: (row) => row[i] ?? '',
        align: i === 0 ? 'left' : 'right',
      }),
    ),
  );
}

export const historyCommand: Command = {
  name: 'history',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, OPTIONS);
    if (values.system) {
      if (positionals.length > 0)
        throw new MemwardenError('MW_USAGE', '--system takes no TARGET or PID (see --help)');
      await printSystem(values);
      return;
    }
    if (positionals.length !== 1) {
      throw new MemwardenError('MW_USAGE', 'expected exactly one TARGET or PID (see --help)');
    }
    const subject = positionals[0] ?? '';
    const { sinceMs, untilMs, maxPoints } = rangeOf(values);
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
    warnIfCut(points.length);
    const target = query.target !== undefined;
    if (values.json) {
      printJson(target ? withTotals(points) : points);
      return;
    }
    if (points.length === 0) {
      process.stdout.write(
        `no samples for ${query.pid !== undefined ? 'pid ' : ''}${subject} in that range\n`,
      );
      return;
    }
    process.stdout.write(table(points, target));
  },
};

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'];

function rangeOf(values: Values): { sinceMs: number; untilMs?: number; maxPoints?: number } {
  const nowMs = Date.now();
  const range: { sinceMs: number; untilMs?: number; maxPoints?: number } = {
    sinceMs: parseTime('--since', values.since ?? '1h', nowMs),
  };
  if (values.until !== undefined) range.untilMs = parseTime('--until', values.until, nowMs);
  const maxPoints = parseCountFlag('--max-points', values['max-points']);
  if (maxPoints !== undefined) range.maxPoints = maxPoints;
  return range;
}

function warnIfCut(rows: number): void {
  if (rows >= ROW_LIMIT)
    process.stderr.write(
      `memwarden history: cut at ${ROW_LIMIT} rows; narrow --since or lower --max-points\n`,
    );
}

async function printSystem(values: Values): Promise<void> {
  const range = rangeOf(values);
  const store = openHistory(await storePathFor(values));
  let points: SystemPoint[];
  try {
    points = store.system(range);
  } finally {
    store.close();
  }
  warnIfCut(points.length);
  if (values.json) printJson(points);
  else if (points.length === 0) process.stdout.write('no machine samples in that range\n');
  else process.stdout.write(systemTable(points));
}
