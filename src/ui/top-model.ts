import { detectTrend, neededMinutes, type TrendResult } from '../analysis/trend/index.js';
import type { TargetTrend, Tick } from '../export/index.js';
import { identityKey } from '../proc/index.js';
import type { ProcessSample } from '../sample/index.js';
import { formatBytes, formatCount, formatPercent } from '../units/index.js';
import type { RequestedAction } from './actions.js';
import { groupTotal } from './history.js';
import { cut, printable } from './text.js';
import { commandOf } from './view-model.js';

interface History {
  times: number[];
  bytes: number[];
  analysedMs: number;
  result?: TrendResult;
}

const SPARKS = '▁▂▃▄▅▆▇█';
/**
 * Points kept per process for its growth: when full, every other one is dropped, so the span
 * keeps growing past the sparkline's window to the minutes the trend detector needs.
 */
const MAX_POINTS = 1024;
/** Least time between two trend analyses of one process. */
const ANALYSIS_GAP_MS = 10_000;
/**
 * Wall-clock time one refresh may spend in the trend detector (a few ms a process): with
 * hundreds of rows, the ones analysed longest ago go first and the rest wait for later refreshes.
 */
const ANALYSIS_BUDGET_MS = 40;

/** `▁▂▃█`: the values squeezed into `width` columns (the max of each), scaled min..max. */
export function sparkline(values: readonly number[], width: number): string {
  if (values.length === 0 || width <= 0) return '';
  const columns: number[] = [];
  const per = values.length / Math.min(width, values.length);
  for (let c = 0; c * per < values.length; c++) {
    const slice = values.slice(
      Math.floor(c * per),
      Math.max(Math.floor((c + 1) * per), Math.floor(c * per) + 1),
    );
    columns.push(Math.max(...slice));
  }
  const min = Math.min(...columns);
  const span = Math.max(...columns) - min;
  return columns.map((v) => SPARKS[span === 0 ? 0 : Math.round(((v - min) / span) * 7)]).join('');
}

interface Row {
  target: string;
  sample: ProcessSample;
  /** The trend detector's slope of the floor, per hour, once it has a verdict. */
  growthPerHour?: number;
  /** While it has none: about how long until it has. */
  growthNeededSeconds?: number;
  /** RSS (or PSS) within the window, for the sparkline. */
  values: number[];
  trend?: TargetTrend;
  /** Set on a target's total row: its members (the visible ones) and whether they are shown. */
  group?: { members: number; expanded: boolean; pssMissing: number };
}

export const SORT_KEYS = ['rss', 'cpu', 'growth', 'mem', 'pid'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

const COMPARE: Record<SortKey, (a: Row, b: Row) => number> = {
  rss: (a, b) => (b.sample.pss ?? b.sample.rss ?? -1) - (a.sample.pss ?? a.sample.rss ?? -1),
  cpu: (a, b) => (b.sample.cpuPercent ?? -1) - (a.sample.cpuPercent ?? -1),
  growth: (a, b) =>
    (b.growthPerHour ?? Number.NEGATIVE_INFINITY) - (a.growthPerHour ?? Number.NEGATIVE_INFINITY),
  mem: (a, b) => (b.sample.memPercent ?? -1) - (a.sample.memPercent ?? -1),
  pid: (a, b) => a.sample.pid - b.sample.pid,
};

export type TopEffect =
  | { kind: 'none' }
  | { kind: 'quit' }
  | { kind: 'action'; action: RequestedAction; pid: number; startTicks: number };

type Mode =
  | { kind: 'normal' }
  | { kind: 'filter'; text: string }
  | { kind: 'confirm'; action: RequestedAction; pid: number; startTicks: number };

/**
 * Everything `top` shows and how keys change it, with no terminal in sight: the runner feeds
 * ticks and keys in and writes out the lines this renders.
 */
export class TopModel {
  sort: SortKey = 'rss';
  filter = '';
  message = '';
  private mode: Mode = { kind: 'normal' };
  private selectedKey: string | undefined;
  /** The selected row's target, so a member collapsed out of sight leaves the selection on its total. */
  private selectedTarget: string | undefined;
  private rows: Row[] = [];
  private tick: Tick | undefined;
  private readonly history = new Map<string, History>();
  /** Where the selection was, for when its process goes: the row that takes its place. */
  private selectedRow = 0;
  /** Targets whose members are hidden under their total row. */
  private readonly collapsed = new Set<string>();

  constructor(
    private readonly windowMs: number,
    /** Whether PSS is read: its column is shown only then. */
    private readonly pss = false,
    /** Whether rows are grouped under a total row per target (the `t` key switches it). */
    public grouped = false,
  ) {}

  update(tick: Tick): void {
    this.tick = tick;
    const seen = new Set<string>();
    const rows: Row[] = [];
    const due: { h: History; sample: ProcessSample }[] = [];
    for (const target of tick.targets) {
      for (const sample of target.processes) {
        const key = identityKey(sample);
        seen.add(key);
        let h = this.history.get(key);
        if (!h) {
          h = { times: [], bytes: [], analysedMs: Number.NEGATIVE_INFINITY };
          this.history.set(key, h);
        }
        const value = sample.pss ?? sample.rss;
        if (value !== undefined) {
          h.times.push(sample.time);
          h.bytes.push(value);
          if (h.times.length > MAX_POINTS) {
            h.times = h.times.filter((_, i) => i % 2 === 0);
            h.bytes = h.bytes.filter((_, i) => i % 2 === 0);
          }
        }
        const from = h.times.findIndex((t) => t >= sample.time - this.windowMs);
        const row: Row = {
          target: target.name,
          sample,
          values: from < 0 ? [] : h.bytes.slice(from),
        };
        if (target.trend) row.trend = target.trend;
        rows.push(row);
        if (sample.time - h.analysedMs >= ANALYSIS_GAP_MS && h.bytes.length > 0) due.push({ h, sample });
      }
    }
    due.sort((a, b) => a.h.analysedMs - b.h.analysedMs);
    const deadline = performance.now() + ANALYSIS_BUDGET_MS;
    for (const { h, sample } of due) {
      h.result = detectTrend(
        { timeSeconds: h.times.map((t) => t / 1000), bytes: h.bytes },
        { startSeconds: sample.startTime / 1000 },
      );
      h.analysedMs = sample.time;
      if (performance.now() >= deadline) break;
    }
    for (const row of rows) {
      // Growth only from a verdict: a slope over seconds is a GC's fall or an allocation burst.
      const r = this.history.get(identityKey(row.sample))?.result;
      if (r && r.verdict !== 'insufficient' && r.slopeBytesPerSecond !== null)
        row.growthPerHour = r.slopeBytesPerSecond * 3600;
      else if (r?.neededSeconds !== undefined) row.growthNeededSeconds = r.neededSeconds;
    }
    // Processes that are gone take their history with them: the map holds only live ones.
    for (const key of this.history.keys()) if (!seen.has(key)) this.history.delete(key);
    this.rows = rows;
  }

  /** The process rows the filter lets through, sorted. */
  private matching(): Row[] {
    const needle = this.filter.toLowerCase();
    const rows = needle
      ? this.rows.filter(
          (r) =>
            commandOf(r.sample).toLowerCase().includes(needle) || r.target.toLowerCase().includes(needle),
        )
      : [...this.rows];
    return rows.sort((a, b) => COMPARE[this.sort](a, b) || a.sample.pid - b.sample.pid);
  }

  /**
   * The rows as `--json` prints them: the documented fields, filtered and sorted as on screen;
   * while grouped, also one total per target, in the order of the total rows.
   */
  json(): Record<string, unknown> {
    const rows = this.matching();
    return {
      time: this.tick?.time,
      system: this.tick?.system,
      ...(this.grouped
        ? {
            totals: this.groups(rows).map(({ total, members }) => ({
              target: total.target,
              ...groupTotal(members.map((r) => r.sample)),
              cpuPercent: total.sample.cpuPercent,
              memPercent: total.sample.memPercent,
              growthBytesPerHour: total.growthPerHour,
            })),
          }
        : {}),
      processes: rows.map((r) => ({
        target: r.target,
        pid: r.sample.pid,
        name: r.sample.name,
        command: commandOf(r.sample),
        rss: r.sample.rss,
        pss: r.sample.pss,
        pssAgeMs: r.sample.pssAgeMs,
        memPercent: r.sample.memPercent,
        memLimitPercent: r.sample.memLimitPercent,
        cpuPercent: r.sample.cpuPercent,
        growthBytesPerHour: r.growthPerHour,
        growthNeededSeconds: r.growthNeededSeconds,
        trend: r.trend,
      })),
    };
  }

  /**
   * The rows on screen: the matching processes, or while grouped a total row per target, ordered
   * by the sort key on its totals, each followed by its members unless collapsed.
   */
  private visible(): Row[] {
    const rows = this.matching();
    if (!this.grouped) return rows;
    return this.groups(rows).flatMap((g) => (g.total.group?.expanded ? [g.total, ...g.members] : [g.total]));
  }

  /** `rows` by target, each with its total row, ordered by the sort key on the totals. */
  private groups(rows: readonly Row[]): { total: Row; members: Row[] }[] {
    const byTarget = new Map<string, Row[]>();
    for (const r of rows) {
      const members = byTarget.get(r.target);
      if (members) members.push(r);
      else byTarget.set(r.target, [r]);
    }
    const groups = [...byTarget.values()].map((members) => ({ total: this.totalOf(members), members }));
    groups.sort(
      (a, b) => COMPARE[this.sort](a.total, b.total) || a.total.target.localeCompare(b.total.target),
    );
    return groups;
  }

  /**
   * A target's total row: the count, and sums of RSS (shared pages counted once per member, so
   * an upper bound), of PSS (shared pages divided among their users, so an honest whole) when
   * every member has one, of CPU % and memory %, and of the growth the members have a verdict on.
   */
  private totalOf(members: readonly Row[]): Row {
    const first = members[0] as Row;
    const sum = (of: (r: Row) => number | undefined) =>
      members.some((r) => of(r) !== undefined) ? members.reduce((t, r) => t + (of(r) ?? 0), 0) : undefined;
    const pssMissing = members.filter((r) => r.sample.pss === undefined).length;
    const sample = { ...first.sample, pid: Math.min(...members.map((r) => r.sample.pid)) };
    const rss = sum((r) => r.sample.rss);
    const cpu = sum((r) => r.sample.cpuPercent);
    const mem = sum((r) => r.sample.memPercent);
    const pss = groupTotal(members.map((r) => r.sample)).pss;
    if (this.pss && pss !== null) sample.pss = pss;
    else delete sample.pss;
    if (rss === undefined) delete sample.rss;
    else sample.rss = rss;
    if (cpu === undefined) delete sample.cpuPercent;
    else sample.cpuPercent = cpu;
    if (mem === undefined) delete sample.memPercent;
    else sample.memPercent = mem;
    delete sample.memLimitPercent;
    const total: Row = {
      target: first.target,
      sample,
      values: [],
      group: { members: members.length, expanded: !this.collapsed.has(first.target), pssMissing },
    };
    const growth = sum((r) => r.growthPerHour);
    if (growth !== undefined) total.growthPerHour = growth;
    if (first.trend) total.trend = first.trend;
    return total;
  }

  /**
   * The selected row's index. The selection is a process (pid + start time), so it follows its
   * process through a re-sort; with none yet, or once its process is gone or filtered out, the
   * row now in its place is taken, and from then on that process is the selection.
   */
  private selectedIndex(rows: readonly Row[]): number {
    let i = rows.findIndex((r) => keyOf(r) === this.selectedKey);
    if (i < 0 && this.selectedTarget !== undefined) {
      // A member hidden under its collapsed total (or gone): the total is where it went.
      i = rows.findIndex((r) => r.group && r.target === this.selectedTarget);
      // A total row gone with the grouping: its first member.
      if (i < 0 && this.selectedKey?.startsWith('total:'))
        i = rows.findIndex((r) => r.target === this.selectedTarget);
    }
    if (i < 0) {
      i = Math.max(0, Math.min(this.selectedRow, rows.length - 1));
    }
    this.select(rows[i]);
    this.selectedRow = i;
    return i;
  }

  /** One key (as raw-mode bytes) in, what the runner should do out. */
  key(input: string): TopEffect {
    const mode = this.mode;
    if (input === '\x03') return { kind: 'quit' };
    if (mode.kind === 'filter') {
      if (input === '\r' || input === '\n') this.mode = { kind: 'normal' };
      else if (input === '\x1b') {
        this.filter = '';
        this.mode = { kind: 'normal' };
      } else if (input === '\x7f' || input === '\b') this.filter = this.filter.slice(0, -1);
      else if (/^[\x20-\x7e]+$/.test(input)) this.filter += input;
      if (this.mode.kind === 'filter') this.mode = { kind: 'filter', text: this.filter };
      return { kind: 'none' };
    }
    if (mode.kind === 'confirm') {
      this.mode = { kind: 'normal' };
      if (input === 'y' || input === 'Y') {
        this.message = `${mode.action} on pid ${mode.pid}: running…`;
        return { kind: 'action', action: mode.action, pid: mode.pid, startTicks: mode.startTicks };
      }
      this.message = `${mode.action} cancelled`;
      return { kind: 'none' };
    }
    const rows = this.visible();
    const index = this.selectedIndex(rows);
    switch (input) {
      case 'q':
        return { kind: 'quit' };
      case 's':
        this.sort = SORT_KEYS[(SORT_KEYS.indexOf(this.sort) + 1) % SORT_KEYS.length] ?? 'rss';
        break;
      case '/':
        this.mode = { kind: 'filter', text: this.filter };
        break;
      case '\x1b[A':
      case 'k':
        this.select(rows[Math.max(0, index - 1)]);
        break;
      case '\x1b[B':
      case 'j':
        this.select(rows[Math.min(rows.length - 1, index + 1)]);
        break;
      case 't':
        this.grouped = !this.grouped;
        this.message = this.grouped ? 'grouped by target' : 'one row per process';
        break;
      case '+':
      case '-':
      case ' ': {
        const target = rows[index]?.target;
        if (!this.grouped || target === undefined) break;
        if (this.collapsed.has(target)) this.collapsed.delete(target);
        else this.collapsed.add(target);
        break;
      }
      case '*': {
        if (!this.grouped) break;
        const targets = new Set(rows.map((r) => r.target));
        const anyOpen = [...targets].some((t) => !this.collapsed.has(t));
        for (const t of targets) {
          if (anyOpen) this.collapsed.add(t);
          else this.collapsed.delete(t);
        }
        break;
      }
      case 'g':
      case 'S': {
        const row = rows[index];
        if (!row) break;
        if (row.group) {
          this.message = `${input === 'g' ? 'gc' : 'snapshot'} acts on one process: select a member`;
          break;
        }
        const action: RequestedAction = input === 'g' ? 'gc' : 'snapshot';
        this.select(row);
        this.mode = { kind: 'confirm', action, pid: row.sample.pid, startTicks: row.sample.startTicks };
        break;
      }
    }
    return { kind: 'none' };
  }

  private select(row: Row | undefined): void {
    if (!row) return;
    this.selectedKey = keyOf(row);
    this.selectedTarget = row.target;
  }

  /** The columns shown at `width`: narrowed, then dropped, in a fixed order until COMMAND has room. */
  private columns(width: number): Column[] {
    let columns = COLUMNS.filter((c) => c.name !== 'PSS' || this.pss).map((c) => ({ ...c }));
    const used = () => columns.reduce((sum, c) => sum + c.width + 1, 0);
    for (const step of FIT_STEPS) {
      if (used() + MIN_COMMAND <= width) break;
      const column = columns.find((c) => c.name === step.name);
      if (!column) continue;
      if (step.width === undefined) columns = columns.filter((c) => c !== column);
      else column.width = step.width;
    }
    return columns;
  }

  /** The screen as lines, each fitted to `width` columns; the selected row is marked for inverse video. */
  render(
    width: number,
    height: number,
    interactive = true,
  ): { lines: string[]; selectedLine: number | undefined } {
    const lines: string[] = [];
    const tick = this.tick;
    if (tick) {
      const s = tick.system;
      lines.push(
        fitParts(
          [
            { text: 'memwarden top', keep: 0 },
            { text: new Date(tick.time).toLocaleTimeString(), keep: 3 },
            {
              text: `mem ${formatBytes(s.memUsed)} / ${formatBytes(s.memTotal)} (${formatPercent(s.memPercent)})`,
              keep: 0,
            },
            { text: `avail ${formatBytes(s.memAvailable)}`, keep: 1 },
            { text: `swap ${formatBytes(s.swapTotal - s.swapFree)} / ${formatBytes(s.swapTotal)}`, keep: 4 },
            { text: `cpu ${formatPercent(s.cpuPercent)}`, keep: 2 },
            { text: `load ${s.load1.toFixed(2)}`, keep: 5 },
          ],
          '  ',
          width,
        ),
      );
    } else lines.push(cut('memwarden top  waiting for the first sample…', width));
    if (interactive) lines.push(this.statusLine(width));
    const rows = this.visible();
    const index = this.selectedIndex(rows);
    const columns = this.columns(width);
    const line = (cells: (c: Column) => string, command: string) => {
      const text = `${columns.map((c) => (c.left ? cells(c).padEnd(c.width) : cells(c).padStart(c.width))).join(' ')} ${command}`;
      return cut(text, width);
    };
    lines.push(line((c) => c.name.slice(0, c.width), 'COMMAND'));
    const room = Math.max(1, height - lines.length);
    const first = Math.max(0, Math.min(index - room + 1, rows.length - room));
    let selectedLine: number | undefined;
    for (let i = first; i < rows.length && i < first + room; i++) {
      const r = rows[i];
      if (!r) continue;
      if (i === index && interactive) selectedLine = lines.length;
      lines.push(line((c) => cellOf(r, c), r.group ? this.totalLabel(r) : printable(commandOf(r.sample))));
    }
    if (rows.length === 0)
      lines.push(cut(this.filter ? '  no process matches the filter' : '  no process matches', width));
    return { lines, selectedLine };
  }

  /** A total row's COMMAND: the target, its count, and which memory its sum is of. */
  private totalLabel(r: Row): string {
    const g = r.group;
    if (!g) return '';
    const sumOf = r.sample.pss !== undefined ? 'PSS' : 'RSS';
    const unread = this.pss && g.pssMissing > 0 ? ` (PSS unreadable for ${g.pssMissing})` : '';
    // Which sum first: on a narrow terminal that is what stays.
    return `sum of ${sumOf}${unread} · ${formatCount(g.members, 'process', 'processes')} · ${printable(r.target)}`;
  }

  /** The status and help line: what is set and said first, then as much help as fits. */
  private statusLine(width: number): string {
    const mode = this.mode;
    if (mode.kind === 'filter') return cut(`filter: ${mode.text}▏  (Enter keeps it, Esc clears)`, width);
    if (mode.kind === 'confirm') return cut(`Run ${mode.action} on pid ${mode.pid}? (y/n)`, width);
    const state = `sort: ${this.sort}${this.grouped ? '  grouped' : ''}${this.filter ? `  filter: ${this.filter}` : ''}`;
    const message = this.message ? `  ·  ${this.message}` : '';
    for (const help of HELP_LINES) {
      const text = `${state}  ·  ${help}${message}`;
      if ([...text].length <= width) return text;
    }
    return cut(`${state}${message}`, width);
  }
}

interface Column {
  name: string;
  width: number;
  left?: boolean;
}

/** Every column but COMMAND, which takes what is left. */
const COLUMNS: readonly Column[] = [
  { name: 'PID', width: 7 },
  { name: 'TARGET', width: 12, left: true },
  { name: 'RSS', width: 9 },
  { name: 'PSS', width: 9 },
  { name: 'MEM%', width: 6 },
  { name: 'LIM%', width: 6 },
  { name: 'CPU%', width: 6 },
  { name: 'GROWTH/h', width: 9 },
  { name: 'LAST MINUTES', width: 16, left: true },
  { name: 'LEAK', width: 5, left: true },
];
/** COMMAND is given at least this much before other columns are narrowed or dropped. */
const MIN_COMMAND = 16;
/** What gives way on a narrow terminal, first to last: a width narrows it, none drops it. */
const FIT_STEPS: readonly { name: string; width?: number }[] = [
  { name: 'LAST MINUTES', width: 8 },
  { name: 'TARGET', width: 8 },
  { name: 'LIM%' },
  { name: 'MEM%' },
  { name: 'PSS' },
  { name: 'LAST MINUTES' },
  { name: 'TARGET' },
  { name: 'LEAK' },
  { name: 'CPU%' },
  { name: 'GROWTH/h' },
];
/** The help, from the whole to the shortest. */
const HELP_LINES = [
  's sort  / filter  ↑↓ select  t group  +- fold  * all  g gc  S snapshot  q quit',
  's sort  / filter  ↑↓ select  g gc  S snapshot  q quit',
  's sort /filter t group +- fold g gc S snap q quit',
  's sort /filter g gc S snap q quit',
  's / t + g S q',
  's / g S q',
];

/** What the selection holds on to: a process by pid and start time, a total row by its target. */
function keyOf(r: Row): string {
  return r.group ? `total:${r.target}` : identityKey(r.sample);
}

function cellOf(r: Row, c: Column): string {
  const p = r.sample;
  switch (c.name) {
    case 'PID':
      return r.group ? `${r.group.expanded ? '▾' : '▸'} ${r.group.members}` : String(p.pid);
    case 'TARGET':
      return printable(r.target).slice(0, c.width);
    case 'RSS':
      return formatBytes(p.rss);
    case 'PSS':
      return formatBytes(p.pss);
    case 'MEM%':
      return formatPercent(p.memPercent);
    case 'LIM%':
      return formatPercent(p.memLimitPercent);
    case 'CPU%':
      return formatPercent(p.cpuPercent);
    case 'GROWTH/h':
      return r.growthPerHour !== undefined
        ? formatBytes(r.growthPerHour)
        : r.growthNeededSeconds !== undefined
          ? `?${neededMinutes(r.growthNeededSeconds)}m`
          : '-';
    case 'LAST MINUTES':
      return r.group ? '' : sparkline(r.values, c.width);
    case 'LEAK':
      return r.trend ? leakCell(r.trend) : '-';
    default:
      return '';
  }
}

/** Parts joined by `sep`, the least kept first dropped (lowest `keep` stays longest) until they fit. */
function fitParts(parts: readonly { text: string; keep: number }[], sep: string, width: number): string {
  let shown = [...parts];
  while (shown.length > 1 && [...shown.map((p) => p.text).join(sep)].length > width) {
    const worst = shown.reduce((a, b) => (b.keep > a.keep ? b : a));
    shown = shown.filter((p) => p !== worst);
  }
  return cut(shown.map((p) => p.text).join(sep), width);
}

/** `text` cut to `width` code points, ending in `…` when cut. */

/** The LEAK column: the verdict, or while there is none yet, about how many minutes it needs. */
function leakCell(trend: TargetTrend): string {
  if (trend.verdict === 'leak') return 'LEAK';
  if (trend.verdict === 'no-leak') return 'no';
  return trend.neededSeconds === undefined ? '?' : `?${neededMinutes(trend.neededSeconds)}m`;
}
