import type { RuleEvent } from '../rules/index.js';
import type { ProcessSample, SystemSample } from '../sample/index.js';
import { printable } from '../ui/index.js';
import { formatBytes, formatPercent } from '../units/index.js';
import type { Tick } from './watcher.js';

/** The JSON-lines records of one cycle: one for the machine, one per process, one per event. */
export function tickRecords(tick: Tick): object[] {
  const time = new Date(tick.time).toISOString();
  const records: object[] = [systemRecord(time, tick.cycle, tick.system)];
  for (const target of tick.targets) {
    for (const p of target.processes) records.push(processRecord(time, tick.cycle, target.name, p));
  }
  for (const e of tick.events) records.push(eventRecord(time, e));
  return records;
}

function systemRecord(time: string, cycle: number, s: SystemSample): object {
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
  };
}

function processRecord(time: string, cycle: number, target: string, p: ProcessSample): object {
  return {
    time,
    kind: 'process',
    cycle,
    target,
    pid: p.pid,
    cmdline: p.cmdline,
    cpuPercent: round(p.cpuPercent),
    memPercent: round(p.memPercent),
    rss: p.rss,
    pss: p.pss,
    memLimitPercent: round(p.memLimitPercent),
    startTime: new Date(p.startTime).toISOString(),
  };
}

function eventRecord(time: string, e: RuleEvent): object {
  return {
    time,
    kind: e.kind === 'fired' ? 'rule-fired' : 'rule-resolved',
    rule: e.ruleId,
    target: e.target,
    pid: e.identity.pid,
    message: e.message,
    actions: e.actions.map((a) => a.kind),
  };
}

function round(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value * 100) / 100;
}

function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

/** The same cycle for a person at a terminal. */
export function tickLines(tick: Tick): string[] {
  const at = clock(tick.time);
  const s = tick.system;
  const lines = [
    `${at}  machine  mem ${formatPercent(s.memPercent)} (${formatBytes(s.memUsed)} of ${formatBytes(s.memTotal)}, ${formatBytes(s.memAvailable)} available)  cpu ${formatPercent(s.cpuPercent)} of ${s.cpuCount} cores`,
  ];
  for (const target of tick.targets) {
    if (target.processes.length === 0) lines.push(`${at}  ${printable(target.name)}  no process matches`);
    for (const p of target.processes) {
      const command = printable(p.cmdline.length > 0 ? p.cmdline.join(' ') : `[${p.name}]`);
      lines.push(
        `${at}  ${printable(target.name)}  pid ${p.pid}  cpu ${formatPercent(p.cpuPercent)}  mem ${formatPercent(p.memPercent)} (${formatBytes(p.rss)})  started ${new Date(p.startTime).toLocaleString('sv')}  ${command}`,
      );
    }
  }
  for (const e of tick.events)
    lines.push(`${at}  ${printable(e.target)}  ${e.kind}: ${printable(e.message)}`);
  return lines;
}
