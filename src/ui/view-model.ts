import type { TargetTick, TargetTrend, Tick } from '../export/index.js';
import type { ProcessSample } from '../sample/index.js';

/** Longest command line a view receives: enough to recognise a process, bounded against a 2 MB one. */
const COMMAND_CHARS = 512;

/** A process as the dashboard and the report get it: raw strings (the page sets them as text), secrets redacted. */
export interface ProcessView {
  pid: number;
  startTicks: number;
  name: string;
  command: string;
  user: string;
  rss?: number;
  pss?: number;
  cpuPercent?: number;
  memPercent?: number;
  memLimitPercent?: number;
}

export interface TargetView {
  name: string;
  processes: ProcessView[];
  rssBytes: number;
  pssBytes?: number;
  trend?: TargetTrend;
  /** Nothing matched while /proc hides other users' processes: the count is unknown, not 0. */
  unknown?: true;
}

export interface LiveView {
  time: number;
  system: Tick['system'];
  targets: TargetView[];
}

export function commandOf(p: Pick<ProcessSample, 'cmdline' | 'name'>): string {
  const text = p.cmdline.length > 0 ? p.cmdline.join(' ') : `[${p.name}]`;
  return text.length > COMMAND_CHARS ? `${text.slice(0, COMMAND_CHARS)}…` : text;
}

function processView(p: ProcessSample): ProcessView {
  const view: ProcessView = {
    pid: p.pid,
    startTicks: p.startTicks,
    name: p.name,
    command: commandOf(p),
    user: p.user,
  };
  if (p.rss !== undefined) view.rss = p.rss;
  if (p.pss !== undefined) view.pss = p.pss;
  if (p.cpuPercent !== undefined) view.cpuPercent = p.cpuPercent;
  if (p.memPercent !== undefined) view.memPercent = p.memPercent;
  if (p.memLimitPercent !== undefined) view.memLimitPercent = p.memLimitPercent;
  return view;
}

export function targetView(t: TargetTick, maxProcesses: number): TargetView {
  const processes = [...t.processes].sort((a, b) => (b.rss ?? 0) - (a.rss ?? 0));
  const view: TargetView = {
    name: t.name,
    processes: processes.slice(0, maxProcesses).map(processView),
    rssBytes: processes.reduce((sum, p) => sum + (p.rss ?? 0), 0),
  };
  if (processes.some((p) => p.pss !== undefined))
    view.pssBytes = processes.reduce((sum, p) => sum + (p.pss ?? 0), 0);
  if (t.trend) view.trend = t.trend;
  if (t.unknown) view.unknown = true;
  return view;
}

export function liveView(tick: Tick, maxProcessesPerTarget: number): LiveView {
  return {
    time: tick.time,
    system: tick.system,
    targets: tick.targets.map((t) => targetView(t, maxProcessesPerTarget)),
  };
}
