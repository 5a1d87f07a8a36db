import { neededText } from '../analysis/trend/index.js';
import { trimArgv } from '../proc/index.js';
import type { RuleEvent } from '../rules/index.js';
import type { SystemSample } from '../sample/index.js';
import { printable } from '../ui/index.js';
import { formatBytes, formatPercent } from '../units/index.js';
import { ruleEventRow } from './event-row.js';
import type { OomKillEvent } from './oom.js';
import type { ProcessTrend } from './trends.js';
import type { Cycle } from './watcher.js';

/** The machine's JSON-lines record of one cycle. */
export function systemRecord(time: string, cycle: number, s: SystemSample): object {
  return {
    time,
    kind: 'system',
    cycle,
    memTotal: s.memTotal,
    memAvailable: s.memAvailable,
    memPercent: round(s.memPercent),
    cpuCount: s.cpuCount,
    cpuPercent: round(s.cpuPercent),
    swapTotal: s.swapTotal,
    swapFree: s.swapFree,
    memoryPressure: s.pressure,
  };
}

interface KeptLine {
  startTicks: number;
  /** The command line the parts were made from: the reader hands the same array while it holds. */
  cmdline: readonly string[];
  /** `,"target":…,"pid":…,"cmdline":[…]` */
  head: string;
  /** `"startTime":"…"` */
  tail: string;
  /** The line after the cycle, and the values it was made of: most processes repeat them. */
  body?: string;
  values: (number | undefined)[];
  /** The last encoded cycle that held this process. */
  seen: number;
}

/**
 * The JSON lines of a stream of cycles, as `--json` and `--log` write them: one for the machine
 * (systemRecord), one per process (time, kind, cycle, target, pid, cmdline, cpuPercent,
 * memPercent, rss, pss, pssAgeMs (how old pss is, when a time budget kept an earlier read),
 * memLimitPercent, startTime; a value left unknown is left out), one per
 * target whose process count is unknown (kind `target`, status `unknown`: hidepid), one per
 * event (eventRecord), each what JSON.stringify makes of the record. The parts of a process's
 * line that hold while it lives (target, pid, command line, start time) are serialised once and
 * kept: redoing them for every process on every cycle was most of the cost of `--json`. Kept
 * parts of processes that leave the selection are dropped on the same cycle.
 */
export class TickJsonLines {
  private readonly kept = new Map<string, Map<number, KeptLine>>();
  private encoded = 0;

  encode(tick: Cycle): string {
    const seen = ++this.encoded;
    const time = new Date(tick.time).toISOString();
    let out = `${JSON.stringify(systemRecord(time, tick.cycle, tick.system))}\n`;
    const start = `{"time":"${time}","kind":"process","cycle":${tick.cycle}`;
    for (const target of tick.targets) {
      if (target.unknown) {
        out += `${JSON.stringify({ time, kind: 'target', cycle: tick.cycle, target: target.name, status: 'unknown', reason: 'hidepid' })}\n`;
      }
      let lines = this.kept.get(target.name);
      if (!lines) {
        lines = new Map();
        this.kept.set(target.name, lines);
      }
      for (const p of target.processes) {
        let line = lines.get(p.pid);
        if (line === undefined || line.startTicks !== p.startTicks || line.cmdline !== p.cmdline) {
          line = {
            startTicks: p.startTicks,
            cmdline: p.cmdline,
            head: `,"target":${JSON.stringify(target.name)},"pid":${p.pid},"cmdline":${JSON.stringify(trimArgv(p.cmdline))}`,
            tail: `"startTime":"${new Date(p.startTime).toISOString()}"`,
            values: [],
            seen,
          };
          lines.set(p.pid, line);
        }
        line.seen = seen;
        const cpu = round(p.cpuPercent);
        const mem = round(p.memPercent);
        const limit = round(p.memLimitPercent);
        const age = p.pssAgeMs === undefined ? undefined : Math.round(p.pssAgeMs);
        const v = line.values;
        if (
          line.body === undefined ||
          v[0] !== cpu ||
          v[1] !== mem ||
          v[2] !== p.rss ||
          v[3] !== p.pss ||
          v[4] !== limit ||
          v[5] !== age
        ) {
          line.body = `${line.head}${field('cpuPercent', cpu)}${field('memPercent', mem)}${field('rss', p.rss)}${field('pss', p.pss)}${field('pssAgeMs', age)}${field('memLimitPercent', limit)},${line.tail}`;
          line.values = [cpu, mem, p.rss, p.pss, limit, age];
        }
        const trend = tick.trends.get(p.pid);
        out += `${start}${line.body}${trend ? `,"trend":${JSON.stringify(trend)}` : ''}}\n`;
      }
    }
    for (const k of tick.oomKills) out += `${JSON.stringify(oomKillRecord(time, tick.cycle, k))}\n`;
    for (const e of tick.events) out += `${JSON.stringify(eventRecord(time, e))}\n`;
    for (const [name, lines] of this.kept) {
      for (const [pid, line] of lines) if (line.seen !== seen) lines.delete(pid);
      if (lines.size === 0) this.kept.delete(name);
    }
    return out;
  }
}

/** One optional number of a process line, as JSON.stringify writes it (absent when undefined). */
function field(key: string, value: number | undefined): string {
  if (value === undefined) return '';
  return `,"${key}":${Number.isFinite(value) ? value : 'null'}`;
}

export function eventRecord(time: string, e: RuleEvent): object {
  return {
    time,
    ...ruleEventRow(e),
    ...(e.group ? { group: e.group } : {}),
    actions: e.actions.map((a) => a.kind),
  };
}

/** An OOM kill's JSON line: who, of which target, how it stood, what the kernel said. */
export function oomKillRecord(time: string, cycle: number, k: OomKillEvent): object {
  return {
    time,
    kind: 'oom-killed',
    cycle,
    target: k.targets[0],
    targets: k.targets,
    pid: k.pid,
    name: k.name,
    startTicks: k.startTicks,
    lastRss: k.lastRssBytes,
    anonRss: k.anonRssBytes,
    trend: k.trend,
    slopeBytesPerSecond: k.slopeBytesPerSecond,
    timeToLimitSeconds: k.timeToLimitSeconds,
    cgroup: k.cgroup,
    constraint: k.constraint,
    source: k.source,
    message: k.message,
  };
}

function round(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value * 100) / 100;
}

function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

/** A process's leak verdict in a few words; while there is none, what it waits for. */
function trendText(trend: ProcessTrend): string {
  if (trend.verdict === 'leak') {
    const rate =
      trend.slopeBytesPerSecond === undefined ? '' : ` +${formatBytes(trend.slopeBytesPerSecond * 60)}/min`;
    return `leak${rate}`;
  }
  if (trend.verdict === 'no-leak') return 'no leak';
  return `leak: ${trend.neededSeconds === undefined ? 'not enough data yet' : neededText(trend.neededSeconds)}`;
}

/** The same cycle for a person at a terminal. */
export function tickLines(tick: Cycle): string[] {
  const at = clock(tick.time);
  const s = tick.system;
  const lines = [
    `${at}  machine  mem ${formatPercent(s.memPercent)} (${formatBytes(s.memUsed)} of ${formatBytes(s.memTotal)}, ${formatBytes(s.memAvailable)} available)  cpu ${formatPercent(s.cpuPercent)} of ${s.cpuCount} cores`,
  ];
  for (const target of tick.targets) {
    if (target.unknown)
      lines.push(`${at}  ${printable(target.name)}  unknown: /proc hides other users' processes (hidepid)`);
    else if (target.processes.length === 0)
      lines.push(`${at}  ${printable(target.name)}  no process matches`);
    for (const p of target.processes) {
      const command = printable(p.cmdline.length > 0 ? p.cmdline.join(' ') : `[${p.name}]`);
      const trend = tick.trends.get(p.pid);
      lines.push(
        `${at}  ${printable(target.name)}  pid ${p.pid}  cpu ${formatPercent(p.cpuPercent)}  mem ${formatPercent(p.memPercent)} (${formatBytes(p.rss)})${trend ? `  ${trendText(trend)}` : ''}  started ${new Date(p.startTime).toLocaleString('sv')}  ${command}`,
      );
    }
  }
  for (const k of tick.oomKills) lines.push(`${at}  oom-killed: ${printable(k.message)}`);
  for (const e of tick.events)
    lines.push(`${at}  ${printable(e.target)}  ${e.kind}: ${printable(e.message)}`);
  return lines;
}
