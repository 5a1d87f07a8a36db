import {
  type Pressure,
  type ProcessRecord,
  ProcReader,
  procVisibility,
  readOwnCgroup,
} from '../proc/index.js';
import { type ProcessSample, type PssBudget, Sampler, type SystemSample } from '../sample/index.js';
import {
  type CompiledFilter,
  compileFilter,
  type ProcessFilter,
  selectProcesses,
  targetCgroup,
} from '../select/index.js';

/** A target as the sweep needs it: a name and what it matches. */
export interface SweepTarget {
  name: string;
  match: ProcessFilter;
}

interface Target {
  name: string;
  /** `[name]`, made once: the target list of every process that is only in this target. */
  names: readonly string[];
  filter: CompiledFilter;
  match: ProcessFilter;
}

/** A target's own cgroup (named by cgroup, unit or container), as the tick shows it. */
export interface TargetCgroupRow {
  path: string;
  currentBytes?: number;
  limitBytes?: number;
  /** Its `memory.pressure` (cgroup v2 with PSI). */
  pressure?: Pressure;
}

/** One target's processes in a tick. */
export interface TargetRow {
  name: string;
  processes: ProcessSample[];
  /**
   * Set on a target that matched nothing while /proc hides other users' processes (hidepid):
   * its processes may be there unseen, so it is not "none".
   */
  unknown?: true;
  /** For a target named by cgroup, unit or container: that cgroup's own memory. */
  cgroup?: TargetCgroupRow;
}

/** Whether a match names a cgroup, unit or container: its target has a cgroup of its own. */
function byCgroup(match: ProcessFilter): boolean {
  return Boolean(match.cgroups?.length || match.units?.length || match.containers?.length);
}

export interface TargetSamples {
  /** Every selected process, sampled once however many targets it is in. */
  samples: ProcessSample[];
  /** The names of the targets a sampled process is in. */
  targetsOf: (pid: number) => readonly string[];
  /** Each target's processes, in the targets' order. */
  rows: TargetRow[];
}

/**
 * The path every tick takes, with rules or without: one sweep of /proc, each target's
 * selection, one sample per selected process. The watcher adds rules, store and actions on top;
 * `top` and `serve` use it as it is.
 */
export class TargetSampler {
  readonly reader = new ProcReader();
  readonly sampler = new Sampler(this.reader);
  /** Whether /proc hides other users' processes from this process (hidepid). */
  readonly hidden = procVisibility();
  /** Whether smaps_rollup is read for every selected process, for their PSS. */
  pss = false;
  /** Targets whose processes get smaps_rollup read besides (their rules ask for PSS). */
  pssTargets: ReadonlySet<string> = new Set();
  /** When set, smaps_rollup is read on its time budget instead of for every process each tick. */
  pssBudget: PssBudget | undefined;
  private targets: Target[] = [];

  setTargets(targets: readonly SweepTarget[]): void {
    const cgroupPaths = (pid: number) => this.reader.cgroupPaths(pid);
    this.targets = targets.map((t) => ({
      name: t.name,
      names: [t.name],
      filter: compileFilter(t.match, { cgroupPaths }),
      match: t.match,
    }));
  }

  /** A target's match as written; undefined for a name that is not a target. */
  matchOf(name: string): ProcessFilter | undefined {
    return this.targets.find((t) => t.name === name)?.match;
  }

  /**
   * For a target named by cgroup, unit or container, that cgroup's own memory and pressure, read
   * through `reader` (its processes' cgroup paths are kept there); undefined for another target
   * or a cgroup that cannot be read.
   */
  ownCgroup(
    name: string,
    processes: readonly ProcessSample[],
    reader: ProcReader = this.reader,
  ): TargetCgroupRow | undefined {
    const match = this.matchOf(name);
    if (!match || !byCgroup(match)) return undefined;
    const paths = processes.flatMap((p) => reader.cgroupPaths(p.pid) ?? []);
    const own = targetCgroup(match, paths);
    const read = own && readOwnCgroup(own.path, own.version, reader.cgroupRoot);
    if (!own || !read) return undefined;
    const { currentBytes, limitBytes, pressure } = read;
    return {
      path: own.path,
      ...(currentBytes === undefined ? {} : { currentBytes }),
      ...(limitBytes === undefined ? {} : { limitBytes }),
      ...(pressure === undefined ? {} : { pressure }),
    };
  }

  /** The machine, then every process: the machine first, its fork count vouches for the sweep. */
  sweep(): { system: SystemSample; records: ProcessRecord[] } {
    const system = this.sampler.system();
    return { system, records: this.reader.sweep({ forks: this.sampler.forks }) };
  }

  /**
   * Each target's selection among `records`, sampled. `ownPid` names, per target, a process
   * that belongs to it whatever it matches (the one memwarden started for it).
   */
  sample(
    system: SystemSample,
    records: readonly ProcessRecord[],
    ownPid?: (target: string) => number | undefined,
  ): TargetSamples {
    const perTarget = this.targets.map((target) => {
      const selection = selectProcesses(records, target.filter, { explain: false });
      const own = ownPid?.(target.name);
      const owned = own === undefined ? undefined : records.find((r) => r.pid === own);
      if (owned && !selection.records.includes(owned)) selection.records.push(owned);
      return { target, records: selection.records };
    });
    // With one target its selection is the set to sample; with several, a process in more than
    // one is sampled once and carries every name. Per-pid maps are built only then: at a
    // thousand processes a tick they are most of the tick's garbage.
    let memberOf: Map<number, readonly string[]> | undefined;
    let chosen: ProcessRecord[];
    if (perTarget.length === 1) chosen = perTarget[0]?.records ?? [];
    else {
      memberOf = new Map();
      const unique = new Map<number, ProcessRecord>();
      for (const { target, records: selected } of perTarget) {
        for (const record of selected) {
          unique.set(record.pid, record);
          const names = memberOf.get(record.pid);
          memberOf.set(record.pid, names === undefined ? target.names : [...names, target.name]);
        }
      }
      chosen = [...unique.values()];
    }
    const onlyTargets = perTarget[0]?.target.names ?? [];
    // A process that is gone by the time its smaps_rollup is read is left out of the tick whole.
    let unreadable = new Set<ProcessRecord>();
    const pssTargets = this.pssTargets;
    const wanted = this.pss
      ? chosen
      : pssTargets.size === 0
        ? []
        : chosen.filter((r) => (memberOf?.get(r.pid) ?? onlyTargets).some((t) => pssTargets.has(t)));
    if (wanted.length > 0) {
      if (this.pssBudget) unreadable = this.pssBudget.fill(this.reader, wanted);
      else for (const record of wanted) if (!this.reader.addSmaps(record)) unreadable.add(record);
      if (unreadable.size > 0) chosen = chosen.filter((r) => !unreadable.has(r));
    }
    // Samples are the chosen records themselves, completed in place.
    const samples = this.sampler.processes(chosen, system.memTotal);
    const rows = perTarget.map(({ target, records: selected }): TargetRow => {
      const processes = (
        unreadable.size > 0 ? selected.filter((r) => !unreadable.has(r)) : selected
      ) as ProcessSample[];
      const row: TargetRow =
        processes.length === 0 && this.hidden.restricted
          ? { name: target.name, processes, unknown: true }
          : { name: target.name, processes };
      // Every view shows a cgroup target's own memory (`/metrics` of `watch` and `serve` alike).
      const cgroup = this.ownCgroup(target.name, processes);
      if (cgroup) row.cgroup = cgroup;
      return row;
    });
    return { samples, targetsOf: (pid) => memberOf?.get(pid) ?? onlyTargets, rows };
  }

  close(): void {
    this.reader.close();
  }
}
