import {
  type CgroupPaths,
  CLOCK_TICKS_PER_SECOND,
  KernelLog,
  type KernelOomKill,
  readCgroupOomKills,
} from '../proc/index.js';
import type { ProcessSample } from '../sample/index.js';
import { formatBytes, formatDuration } from '../units/index.js';
import type { ProcessTrend } from './trends.js';

/** An OOM kill of the kernel's, named: which process, of which target, and how it stood. */
export interface OomKillEvent {
  /** Wall-clock time memwarden learnt of it, ms since the epoch. */
  time: number;
  pid: number;
  /** Undefined for a process memwarden never saw (not watched, or born and killed between ticks). */
  startTicks?: number;
  name: string;
  /** The targets the process belonged to; empty for a process no target watched. */
  targets: readonly string[];
  /** RSS at memwarden's last read of it. */
  lastRssBytes?: number;
  /** What the kernel logged: anonymous RSS at the kill. */
  anonRssBytes?: number;
  trend?: ProcessTrend['verdict'];
  slopeBytesPerSecond?: number;
  timeToLimitSeconds?: number;
  cgroup?: string;
  constraint?: string;
  /** Where memwarden learnt of it: the kernel log, or a cgroup's `oom_kill` counter. */
  source: 'kmsg' | 'cgroup';
  message: string;
  /** The last sample of it, for rules (`oom_killed`) and their actions. */
  sample?: ProcessSample;
}

interface Seen {
  sample: ProcessSample;
  targets: readonly string[];
  trend?: ProcessTrend;
  paths?: CgroupPaths;
}

export interface OomTrackerOptions {
  /** Default `/dev/kmsg`. */
  kernelLogPath?: string;
  cgroupRoot?: string;
  /** A process's cgroups, for the counters of the fallback (the watcher's ProcReader). */
  cgroupPaths: (pid: number) => CgroupPaths | undefined;
}

/**
 * Names the kernel's OOM kills. Each tick hands it the processes it saw; it reads the kernel
 * log's new `oom-kill` records and matches each killed pid to the process last seen with that
 * pid — if it had started before the kill, it is the same process (a pid reused after the kill
 * started later). Without a readable kernel log (not root, `dmesg_restrict`), the `oom_kill`
 * counters of the watched processes' memory cgroups stand in: a counter that grew is put on the
 * processes of that cgroup that vanished since the last tick, largest RSS first, which is the
 * kernel's own choice.
 */
export class OomTracker {
  /** Every kill seen on the machine (kernel log), or in watched cgroups (fallback). */
  machineKills = 0;
  readonly killsByTarget = new Map<string, number>();
  private readonly log: KernelLog;
  private last = new Map<number, Seen>();
  /** Fallback: the last `oom_kill` count of each watched cgroup. */
  private readonly cgroupCounts = new Map<string, number>();

  constructor(private readonly options: OomTrackerOptions) {
    this.log = new KernelLog(options.kernelLogPath);
  }

  /** Why the kernel log is not read (said once at start), or undefined when it is. */
  get fallbackReason(): string | undefined {
    const why = this.log.unavailable;
    if (why === undefined) return undefined;
    return `cannot read ${this.log.path} (${why}): OOM kills are counted from the watched processes' memory cgroups (oom_kill) instead, without the kernel's details`;
  }

  /** The kills learnt of since the last call, given this tick's processes. */
  observe(
    current: readonly { sample: ProcessSample; targets: readonly string[] }[],
    trends: ReadonlyMap<number, ProcessTrend>,
    now: number,
  ): OomKillEvent[] {
    const seen = new Map<number, Seen>();
    for (const { sample, targets } of current) {
      const entry: Seen = { sample, targets };
      const trend = trends.get(sample.pid);
      if (trend) entry.trend = trend;
      if (this.log.unavailable !== undefined) {
        const paths = this.options.cgroupPaths(sample.pid);
        if (paths) entry.paths = paths;
      }
      seen.set(sample.pid, entry);
    }
    const events =
      this.log.unavailable === undefined ? this.fromLog(seen, now) : this.fromCounters(seen, now);
    this.last = seen;
    for (const e of events)
      for (const t of e.targets) this.killsByTarget.set(t, (this.killsByTarget.get(t) ?? 0) + 1);
    return events;
  }

  close(): void {
    this.log.close();
  }

  private fromLog(seen: ReadonlyMap<number, Seen>, now: number): OomKillEvent[] {
    const events: OomKillEvent[] = [];
    for (const kill of this.log.read()) {
      this.machineKills++;
      const match = [seen.get(kill.pid), this.last.get(kill.pid)].find(
        (s) => s !== undefined && (s.sample.startTicks / CLOCK_TICKS_PER_SECOND) * 1e6 <= kill.timeUs,
      );
      events.push(named(kill, match, now));
    }
    return events;
  }

  private fromCounters(seen: ReadonlyMap<number, Seen>, now: number): OomKillEvent[] {
    const byCgroup = new Map<string, { paths: CgroupPaths; gone: Seen[] }>();
    for (const entry of [...this.last.values(), ...seen.values()]) {
      const key = entry.sample.cgroup;
      if (key === undefined || entry.paths === undefined) continue;
      let group = byCgroup.get(key);
      if (!group) {
        group = { paths: entry.paths, gone: [] };
        byCgroup.set(key, group);
      }
      const still = seen.get(entry.sample.pid);
      if (still === undefined || still.sample.startTicks !== entry.sample.startTicks) group.gone.push(entry);
    }
    const events: OomKillEvent[] = [];
    for (const [key, { paths, gone }] of byCgroup) {
      const count = readCgroupOomKills(paths, this.options.cgroupRoot);
      if (count === undefined) continue;
      const before = this.cgroupCounts.get(key);
      this.cgroupCounts.set(key, count);
      if (before === undefined || count <= before) continue;
      this.machineKills += count - before;
      gone.sort((a, b) => (b.sample.rss ?? 0) - (a.sample.rss ?? 0));
      for (const entry of gone.slice(0, count - before)) {
        events.push(
          named(
            { pid: entry.sample.pid, name: entry.sample.name, timeUs: 0, taskMemcg: key },
            entry,
            now,
            'cgroup',
          ),
        );
      }
    }
    // Counters of cgroups no watched process is in any more are not kept.
    for (const key of this.cgroupCounts.keys()) if (!byCgroup.has(key)) this.cgroupCounts.delete(key);
    return events;
  }
}

function named(
  kill: KernelOomKill,
  match: Seen | undefined,
  now: number,
  source: OomKillEvent['source'] = 'kmsg',
): OomKillEvent {
  const event: OomKillEvent = {
    time: now,
    pid: kill.pid,
    name: match?.sample.name ?? kill.name,
    targets: match?.targets ?? [],
    source,
    message: '',
  };
  const cgroup = kill.taskMemcg ?? match?.sample.cgroup;
  if (cgroup !== undefined) event.cgroup = cgroup;
  if (kill.constraint !== undefined) event.constraint = kill.constraint;
  if (kill.anonRssBytes !== undefined) event.anonRssBytes = kill.anonRssBytes;
  if (match) {
    event.startTicks = match.sample.startTicks;
    event.sample = match.sample;
    if (match.sample.rss !== undefined) event.lastRssBytes = match.sample.rss;
    if (match.trend) {
      event.trend = match.trend.verdict;
      if (match.trend.slopeBytesPerSecond !== undefined)
        event.slopeBytesPerSecond = match.trend.slopeBytesPerSecond;
      if (match.trend.timeToLimitSeconds !== undefined)
        event.timeToLimitSeconds = match.trend.timeToLimitSeconds;
    }
  }
  event.message = describe(event);
  return event;
}

function describe(e: OomKillEvent): string {
  const who = e.targets.length > 0 ? `${e.targets.join(', ')}: ` : 'unwatched: ';
  const parts = [`${who}pid ${e.pid} (${e.name}) was killed by the kernel's OOM killer`];
  if (e.lastRssBytes !== undefined) parts.push(`last RSS ${formatBytes(e.lastRssBytes)}`);
  if (e.anonRssBytes !== undefined) parts.push(`anon RSS at the kill ${formatBytes(e.anonRssBytes)}`);
  if (e.slopeBytesPerSecond !== undefined) parts.push(`trend ${formatBytes(e.slopeBytesPerSecond * 3600)}/h`);
  if (e.timeToLimitSeconds !== undefined)
    parts.push(`limit was ${formatDuration(e.timeToLimitSeconds * 1000)} away`);
  if (e.cgroup !== undefined) parts.push(`cgroup ${e.cgroup}`);
  if (e.constraint !== undefined) parts.push(e.constraint);
  return parts.join(', ');
}
