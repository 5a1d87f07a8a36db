import { neededMinutes } from '../analysis/trend/index.js';
import type { Tick, TrendSummary } from '../export/index.js';
import type { ProcessSample } from '../sample/index.js';
import { formatBytes, formatPercent } from '../units/index.js';
import type { ActionKind } from './actions.js';
import { printable } from './text.js';
import { commandOf } from './view-model.js';

const SPARKS = '▁▂▃▄▅▆▇█';
/** Samples kept per process: a few minutes at the usual intervals, and a hard cap. */
const MAX_SAMPLES = 300;

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

/** Least-squares slope of RSS over time, per hour; undefined with under two samples or no time span. */
export function growthPerHour(times: readonly number[], values: readonly number[]): number | undefined {
  const n = times.length;
  if (n < 2) return undefined;
  const t0 = times[0] ?? 0;
  let st = 0;
  let sv = 0;
  for (let i = 0; i < n; i++) {
    st += (times[i] ?? 0) - t0;
    sv += values[i] ?? 0;
  }
  const mt = st / n;
  const mv = sv / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dt = (times[i] ?? 0) - t0 - mt;
    num += dt * ((values[i] ?? 0) - mv);
    den += dt * dt;
  }
  return den === 0 ? undefined : (num / den) * 3_600_000;
}

interface Row {
  target: string;
  sample: ProcessSample;
  growthPerHour?: number;
  spark: string;
  trend?: TrendSummary;
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
  | { kind: 'action'; action: ActionKind; pid: number; startTicks: number };

type Mode =
  | { kind: 'normal' }
  | { kind: 'filter'; text: string }
  | { kind: 'confirm'; action: ActionKind; pid: number; startTicks: number };

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
  private rows: Row[] = [];
  private tick: Tick | undefined;
  private readonly history = new Map<string, { times: number[]; rss: number[] }>();

  constructor(private readonly windowMs: number) {}

  update(tick: Tick): void {
    this.tick = tick;
    const seen = new Set<string>();
    const rows: Row[] = [];
    for (const target of tick.targets) {
      for (const sample of target.processes) {
        const key = `${sample.pid}:${sample.startTicks}`;
        seen.add(key);
        let h = this.history.get(key);
        if (!h) {
          h = { times: [], rss: [] };
          this.history.set(key, h);
        }
        const value = sample.pss ?? sample.rss;
        if (value !== undefined) {
          h.times.push(sample.time);
          h.rss.push(value);
        }
        while (
          h.times.length > MAX_SAMPLES ||
          (h.times.length > 0 && (h.times[0] ?? 0) < sample.time - this.windowMs)
        ) {
          h.times.shift();
          h.rss.shift();
        }
        const row: Row = { target: target.name, sample, spark: sparkline(h.rss, 16) };
        const growth = growthPerHour(h.times, h.rss);
        if (growth !== undefined) row.growthPerHour = growth;
        if (target.trend) row.trend = target.trend;
        rows.push(row);
      }
    }
    // Processes that are gone take their history with them: the map holds only live ones.
    for (const key of this.history.keys()) if (!seen.has(key)) this.history.delete(key);
    this.rows = rows;
  }

  private visible(): Row[] {
    const needle = this.filter.toLowerCase();
    const rows = needle
      ? this.rows.filter(
          (r) =>
            commandOf(r.sample).toLowerCase().includes(needle) || r.target.toLowerCase().includes(needle),
        )
      : [...this.rows];
    return rows.sort((a, b) => COMPARE[this.sort](a, b) || a.sample.pid - b.sample.pid);
  }

  /** The rows as `--json` prints them: the documented fields, filtered and sorted as on screen. */
  json(): Record<string, unknown> {
    return {
      time: this.tick?.time,
      system: this.tick?.system,
      processes: this.visible().map((r) => ({
        target: r.target,
        pid: r.sample.pid,
        name: r.sample.name,
        command: commandOf(r.sample),
        rss: r.sample.rss,
        pss: r.sample.pss,
        memPercent: r.sample.memPercent,
        memLimitPercent: r.sample.memLimitPercent,
        cpuPercent: r.sample.cpuPercent,
        growthBytesPerHour: r.growthPerHour,
        trend: r.trend,
      })),
    };
  }

  private selectedIndex(rows: readonly Row[]): number {
    const i = rows.findIndex((r) => `${r.sample.pid}:${r.sample.startTicks}` === this.selectedKey);
    return Math.max(i, 0);
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
      case 'g':
      case 'S': {
        const row = rows[index];
        if (!row) break;
        const action: ActionKind = input === 'g' ? 'gc' : 'snapshot';
        this.select(row);
        this.mode = { kind: 'confirm', action, pid: row.sample.pid, startTicks: row.sample.startTicks };
        break;
      }
    }
    return { kind: 'none' };
  }

  private select(row: Row | undefined): void {
    if (row) this.selectedKey = `${row.sample.pid}:${row.sample.startTicks}`;
  }

  /** The screen as lines, each cut to `width` columns; the selected row is marked for inverse video. */
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
        `memwarden top  ${new Date(tick.time).toLocaleTimeString()}  mem ${formatBytes(s.memUsed)} / ${formatBytes(s.memTotal)} (${formatPercent(s.memPercent)})  avail ${formatBytes(s.memAvailable)}  swap ${formatBytes(s.swapTotal - s.swapFree)} / ${formatBytes(s.swapTotal)}  cpu ${formatPercent(s.cpuPercent)}  load ${s.load1.toFixed(2)}`,
      );
    } else lines.push('memwarden top  waiting for the first sample…');
    const mode = this.mode;
    if (interactive)
      lines.push(
        mode.kind === 'filter'
          ? `filter: ${mode.text}▏  (Enter keeps it, Esc clears)`
          : mode.kind === 'confirm'
            ? `Run ${mode.action} on pid ${mode.pid}? (y/n)`
            : `sort: ${this.sort}${this.filter ? `  filter: ${this.filter}` : ''}  ·  s sort  / filter  ↑↓ select  g gc  S snapshot  q quit${this.message ? `  ·  ${this.message}` : ''}`,
      );
    const header = `${'PID'.padStart(7)} ${'TARGET'.padEnd(12)} ${'RSS'.padStart(10)} ${'PSS'.padStart(10)} ${'MEM%'.padStart(6)} ${'LIM%'.padStart(6)} ${'CPU%'.padStart(6)} ${'GROWTH/h'.padStart(10)} ${'LAST MINUTES'.padEnd(16)} ${'LEAK'.padEnd(6)} COMMAND`;
    lines.push(header);
    const rows = this.visible();
    const index = this.selectedIndex(rows);
    const room = Math.max(1, height - lines.length);
    const first = Math.max(0, Math.min(index - room + 1, rows.length - room));
    let selectedLine: number | undefined;
    for (let i = first; i < rows.length && i < first + room; i++) {
      const r = rows[i];
      if (!r) continue;
      const p = r.sample;
      const growth = r.growthPerHour === undefined ? '-' : formatBytes(r.growthPerHour);
      const leak = r.trend ? leakCell(r.trend) : '-';
      if (i === index && interactive) selectedLine = lines.length;
      lines.push(
        `${String(p.pid).padStart(7)} ${printable(r.target).slice(0, 12).padEnd(12)} ${formatBytes(p.rss).padStart(10)} ${formatBytes(p.pss).padStart(10)} ${formatPercent(p.memPercent).padStart(6)} ${formatPercent(p.memLimitPercent).padStart(6)} ${formatPercent(p.cpuPercent).padStart(6)} ${growth.padStart(10)} ${r.spark.padEnd(16)} ${leak.padEnd(6)} ${printable(commandOf(p))}`,
      );
    }
    if (rows.length === 0)
      lines.push(this.filter ? '  no process matches the filter' : '  no process matches');
    return {
      lines: lines.map((l) => ([...l].length > width ? [...l].slice(0, width).join('') : l)),
      selectedLine,
    };
  }
}

/** The LEAK column: the verdict, or while there is none yet, about how many minutes it needs. */
function leakCell(trend: TrendSummary): string {
  if (trend.verdict === 'leak') return 'LEAK';
  if (trend.verdict === 'no-leak') return 'no';
  return trend.neededSeconds === undefined ? '?' : `?${neededMinutes(trend.neededSeconds)}m`;
}
