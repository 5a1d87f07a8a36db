import { MemwardenError } from '../errors.js';
import { trimArgv } from '../proc/index.js';
import {
  DEFAULT_SAMPLE_MS,
  familyKeys,
  type GroupTotal,
  groupTotals,
  listProcesses,
  type ProcessList,
  type ProcessSample,
} from '../sample/index.js';
import { type ProcessFilter, unitOf } from '../select/index.js';
import type { Column } from '../ui/index.js';
import { formatBytes, formatPercent, parseDuration } from '../units/index.js';
import { parseCommandArgs, printJson } from './args.js';
import type { Command } from './command.js';

const HELP = `Usage: memwarden ps [PATTERN…] [options]

Lists processes with their memory and CPU, largest RSS first. PATTERNs are case-sensitive
substrings of the command line; several are OR'ed. Kinds of match are AND'ed. With no pattern
and no other match option, every process is listed.

Match:
  --regex RE           command line matches the regular expression (repeatable)
  --glob GLOB          whole command line matches the shell glob (repeatable)
  --name NAME          executable name (comm or argv[0]'s basename) (repeatable)
  --pid PID            process id; also a comma-separated list (repeatable)
  --pidfile FILE       the pid written in FILE (repeatable)
  --user USER          user name or uid (repeatable)
  --cgroup PATH        in this cgroup or below it (v2, or v1 memory; a glob works) (repeatable)
  --unit UNIT          in this systemd unit's cgroup (.service when no suffix) (repeatable)
  --container ID       in the container whose id starts with ID (docker, podman, containerd) (repeatable)
  --children           also every descendant of a matched process
  --include-stopped    keep zombies and stopped processes (left out by default)
  --all                every process (patterns ignored)

Output:
  --json               one JSON array of objects
  --pss                add PSS, USS and swap from smaps_rollup (slower; others' processes need root)
  --group-by KIND      one row per group: target (the pattern that matched), cgroup, unit, or
                       parent (a process with its descendants); memory is the sum of PSS, so
                       shared pages count once (implies --pss)
  --sample DURATION    window for CPU % (default ${DEFAULT_SAMPLE_MS}ms); 100% = one core
  --sort KEY           rss (default), cpu, mem, pid, start
  --explain            say which pattern matched each process, and which matched nothing
`;

const SORTS: Record<string, (a: ProcessSample, b: ProcessSample) => number> = {
  rss: (a, b) => (b.rss ?? -1) - (a.rss ?? -1),
  mem: (a, b) => (b.memPercent ?? -1) - (a.memPercent ?? -1),
  cpu: (a, b) => (b.cpuPercent ?? -1) - (a.cpuPercent ?? -1),
  pid: (a, b) => a.pid - b.pid,
  start: (a, b) => a.startTime - b.startTime,
};

function parsePids(values: readonly string[]): number[] {
  return values.flatMap((v) =>
    v.split(',').map((part) => {
      const pid = Number(part.trim());
      if (!/^\d+$/.test(part.trim()) || pid <= 0)
        throw new MemwardenError('MW_USAGE', `--pid: '${part}' is not a pid`);
      return pid;
    }),
  );
}

function startLabel(ms: number): string {
  const d = new Date(ms);
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d.toDateString() === now.toDateString()) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return `${d.toLocaleString('en', { month: 'short' })}${pad(d.getDate())}`;
}

/** The JSON form: the fields named in the documentation, in a stable order. */
function toJson(p: ProcessSample, matchedBy?: string[]): Record<string, unknown> {
  return {
    pid: p.pid,
    ppid: p.ppid,
    name: p.name,
    cmdline: trimArgv(p.cmdline),
    user: p.user,
    uid: p.uid,
    state: p.state,
    startTime: p.startTime,
    rss: p.rss,
    vms: p.vms,
    memPercent: p.memPercent,
    cpuPercent: p.cpuPercent,
    threads: p.threads,
    pss: p.pss,
    uss: p.uss,
    swap: p.swap,
    cgroup: p.cgroup,
    cgroupLimitBytes: p.cgroupLimitBytes,
    memLimitPercent: p.memLimitPercent,
    partial: p.partial,
    matchedBy,
  };
}

function columns(
  printable: (text: string) => string,
  withPss: boolean,
  withLimit: boolean,
): Column<ProcessSample>[] {
  const cols: Column<ProcessSample>[] = [
    { header: 'PID', value: (p) => String(p.pid), align: 'right' },
    { header: 'USER', value: (p) => printable(p.user) },
    { header: 'START', value: (p) => startLabel(p.startTime) },
    { header: 'CPU%', value: (p) => formatPercent(p.cpuPercent), align: 'right' },
    { header: 'RSS', value: (p) => formatBytes(p.rss), align: 'right' },
  ];
  if (withPss) {
    cols.push(
      { header: 'PSS', value: (p) => formatBytes(p.pss), align: 'right' },
      { header: 'USS', value: (p) => formatBytes(p.uss), align: 'right' },
      { header: 'SWAP', value: (p) => formatBytes(p.swap), align: 'right' },
    );
  }
  cols.push({ header: 'MEM%', value: (p) => formatPercent(p.memPercent), align: 'right' });
  if (withLimit)
    cols.push({ header: 'LIM%', value: (p) => formatPercent(p.memLimitPercent), align: 'right' });
  cols.push(
    { header: 'THR', value: (p) => String(p.threads), align: 'right' },
    {
      header: 'COMMAND',
      value: (p) => printable(p.cmdline.length > 0 ? p.cmdline.join(' ') : `[${p.name}]`),
    },
  );
  return cols;
}

export const psCommand: Command = {
  name: 'ps',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      regex: { type: 'string', multiple: true },
      glob: { type: 'string', multiple: true },
      name: { type: 'string', multiple: true },
      pid: { type: 'string', multiple: true },
      pidfile: { type: 'string', multiple: true },
      user: { type: 'string', multiple: true },
      cgroup: { type: 'string', multiple: true },
      unit: { type: 'string', multiple: true },
      container: { type: 'string', multiple: true },
      'group-by': { type: 'string' },
      children: { type: 'boolean' },
      'include-stopped': { type: 'boolean' },
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      pss: { type: 'boolean' },
      sample: { type: 'string' },
      sort: { type: 'string' },
      explain: { type: 'boolean' },
    });
    const sort = SORTS[values.sort ?? 'rss'];
    if (!sort)
      throw new MemwardenError(
        'MW_USAGE',
        `--sort: unknown key '${values.sort}' (rss, cpu, mem, pid, start)`,
      );
    const sampleMs = values.sample === undefined ? DEFAULT_SAMPLE_MS : parseDuration(values.sample);
    const filter: ProcessFilter = {
      substrings: positionals,
      regexes: values.regex ?? [],
      globs: values.glob ?? [],
      names: values.name ?? [],
      pids: parsePids(values.pid ?? []),
      pidfiles: values.pidfile ?? [],
      users: values.user ?? [],
      cgroups: values.cgroup ?? [],
      units: values.unit ?? [],
      containers: values.container ?? [],
      children: values.children ?? false,
      includeStopped: values['include-stopped'] ?? false,
      all: values.all ?? false,
    };
    const groupBy = values['group-by'];
    if (groupBy !== undefined && !(groupBy in GROUPINGS))
      throw new MemwardenError(
        'MW_USAGE',
        `--group-by: unknown kind '${groupBy}' (${Object.keys(GROUPINGS).join(', ')})`,
      );
    const list = await listProcesses(filter, {
      sampleMs,
      smaps: (values.pss ?? false) || groupBy !== undefined,
    });
    if (groupBy !== undefined) {
      await printGroups(groupBy, list, values.json ?? false);
      return;
    }
    const processes = list.processes.sort(sort);
    if (values.explain) {
      for (const label of list.unmatched) process.stderr.write(`memwarden ps: ${label} matched no process\n`);
    }
    if (values.json) {
      printJson(processes.map((p) => toJson(p, values.explain ? list.reasons.get(p.pid) : undefined)));
      return;
    }
    // The table code comes with the rest of ui (the dashboard server among it): loaded only here,
    // so `ps --json` and `ps --help` do not wait for it.
    const { printable, renderTable } = await import('../ui/index.js');
    const withLimit = processes.some((p) => p.memLimitPercent !== undefined);
    const width = process.stdout.isTTY ? process.stdout.columns : undefined;
    process.stdout.write(renderTable(processes, columns(printable, values.pss ?? false, withLimit), width));
    if (values.explain) {
      for (const p of processes) {
        process.stdout.write(
          `${p.pid}: matched by ${(list.reasons.get(p.pid) ?? []).map(printable).join(', ')}\n`,
        );
      }
    }
  },
};

/** How `--group-by` names each process's group. */
const GROUPINGS: Record<string, (list: ProcessList) => (s: ProcessSample) => string[]> = {
  target: (list) => {
    const roots = familyKeys(list.processes);
    const labels = (pid: number) => (list.reasons.get(pid) ?? []).filter((l) => !l.startsWith('child of '));
    return (s) => {
      const own = labels(s.pid);
      return own.length > 0 ? own : labels(roots.get(s.pid) ?? s.pid);
    };
  },
  cgroup: () => (s) => (s.cgroup === undefined ? [] : [s.cgroup]),
  unit: () => (s) => {
    const unit = s.cgroup === undefined ? undefined : unitOf(s.cgroup);
    return unit === undefined ? [] : [unit];
  },
  parent: (list) => {
    const roots = familyKeys(list.processes);
    const byPid = new Map(list.processes.map((p) => [p.pid, p]));
    return (s) => {
      const root = roots.get(s.pid) ?? s.pid;
      return [`${root} ${byPid.get(root)?.name ?? ''}`.trim()];
    };
  },
};

async function printGroups(by: string, list: ProcessList, json: boolean): Promise<void> {
  const keysOf = (GROUPINGS[by] as (l: ProcessList) => (s: ProcessSample) => string[])(list);
  const groups = groupTotals(list.processes, keysOf, true).sort((a, b) => (b.pss ?? 0) - (a.pss ?? 0));
  if (json) {
    printJson(
      groups.map((g) => ({
        group: g.key,
        by,
        processes: g.processes,
        pids: g.pids,
        rss: g.rss,
        pss: g.pss,
        uss: g.uss,
        swap: g.swap,
        pssFromRss: g.pssFromRss,
        cpuPercent: g.cpuPercent,
      })),
    );
    return;
  }
  const { printable, renderTable } = await import('../ui/index.js');
  const cols: Column<GroupTotal>[] = [
    { header: by.toUpperCase(), value: (g) => printable(g.key) },
    { header: 'PROCS', value: (g) => String(g.processes), align: 'right' },
    { header: 'CPU%', value: (g) => formatPercent(g.cpuPercent), align: 'right' },
    { header: 'RSS', value: (g) => formatBytes(g.rss), align: 'right' },
    {
      header: 'PSS',
      value: (g) => `${formatBytes(g.pss)}${g.pssFromRss.length > 0 ? '*' : ''}`,
      align: 'right',
    },
    { header: 'USS', value: (g) => formatBytes(g.uss), align: 'right' },
    { header: 'SWAP', value: (g) => formatBytes(g.swap), align: 'right' },
  ];
  // The group's name is the widest cell: last, as ps puts COMMAND, so the numbers line up.
  process.stdout.write(renderTable(groups, [...cols.slice(1), cols[0] as Column<GroupTotal>]));
  const fallback = groups.reduce((n, g) => n + g.pssFromRss.length, 0);
  if (fallback > 0)
    process.stdout.write(
      `* PSS of ${fallback} process${fallback === 1 ? '' : 'es'} not readable (another user's, without root): counted with RSS\n`,
    );
}
