import { closeSync, openSync, readdirSync, statSync } from 'node:fs';
import { type CgroupPaths, parseCgroupFile } from './cgroup.js';
import { parseCmdline } from './cmdline.js';
import { processName } from './comm.js';
import { bootTimeSeconds, CLOCK_TICKS_PER_SECOND, openFileSoftLimit, pageSizeBytes } from './constants.js';
import { classify, PROC_OPEN_FLAGS, preadAll, readOnce, readText } from './files.js';
import { parseSmapsRollup } from './smaps.js';
import { PF_KTHREAD, parseStat, parseStatm, type StatFields } from './stat.js';
import type { ProcessIdentity, ProcessRecord } from './types.js';
import { userName } from './users.js';

export interface ReaderOptions {
  /** The procfs mount; a fixture directory in tests. */
  root?: string;
  /** The cgroup filesystem mount. */
  cgroupRoot?: string;
  /**
   * Keep each process's schedstat open, to skip reading stat again while the process has not
   * run (default true). That pays from the third read on: a reader that reads each process
   * twice (a one-off listing) would open, read and close one file more per process for nothing.
   */
  schedstat?: boolean;
}

export interface ReadOptions {
  /** Also read smaps_rollup (PSS, USS, swap): several times slower, often denied for others' processes. */
  smaps?: boolean;
}

export interface SweepOptions extends ReadOptions {
  /**
   * The kernel's count of forks since boot (`processes` in /proc/stat), read just before this
   * sweep. When it equals the one given to the previous sweep, no process has been created
   * since that sweep listed /proc, so the listing is skipped and the previous one is read again.
   */
  forks?: number;
}

/** Error counts by kind, for `memwarden_proc_read_errors_total{kind}`; vanished processes are not errors. */
export interface ReadErrorCounts {
  denied: number;
  failed: number;
}

interface CachedProcess {
  startTicks: number;
  /** startTicks in ms since the epoch, worked out once. */
  startTime: number;
  statFd: number;
  /** -1 where the file could not be opened. */
  statmFd: number;
  cmdlineFd: number;
  uid: number;
  user: string;
  cgroupPaths?: CgroupPaths;
  /** The command line last read, the comm it went with, and reads since. */
  cmdline?: string[];
  cmdlineComm?: string;
  cmdlineAge: number;
  /** RSS from the last statm read, and what stat showed then. */
  rssBytes?: number;
  statmRssPages: number;
  statmFaults: number;
  statmCpuTicks: number;
  /** -1 where the kernel has no schedstat (or it could not be opened). */
  schedstatFd: number;
  /** The last stat read, and schedstat's run time (its first field, as text) read just before it. */
  lastStat?: StatFields;
  runtime: Buffer;
  runtimeLength: number;
  /** Reads left before stat and statm are read whatever schedstat and stat show (REFRESH_EVERY). */
  refreshIn: number;
}

/**
 * What is read of a kept process depends on what can have changed since the last read:
 * - stat: not for a single-threaded process that has not run since (schedstat's run time, in
 *   nanoseconds, has not moved). Only the process running changes what stat says, but for its
 *   parent (re-parented when the parent dies), a wakeup not yet run, and RSS taken by reclaim.
 *   schedstat costs the kernel a third of stat, and the parse is skipped. Multi-threaded
 *   processes are always read, as schedstat counts only the main thread.
 * - statm: only when stat shows the memory may have moved (its RSS, page faults or CPU time).
 *   Growth takes page faults, and any change larger than stat's per-CPU slack (the pages each
 *   CPU may hold back from the shared count: a few hundred KB on small machines, some MB on
 *   large ones) moves stat's RSS, whoever made it (the process, reclaim, swap-in).
 * What neither shows (a new parent, a change within that slack made without a fault or a clock
 * tick of CPU) is caught by reading both anyway every this many reads: it is reported at most
 * that late. The refreshes are spread by pid, so processes found in one sweep do not all come
 * due on the same tick.
 */
const REFRESH_EVERY = 8;

/** Longest first field of schedstat: a run time in ns fits 20 digits. */
const RUNTIME_BYTES = 24;

/** The run time kept where schedstat is not read: never written to. */
const NO_RUNTIME = Buffer.alloc(0);

/** What reading a pid yields when the pid no longer exists at all. */
const GONE = Symbol('gone');

/** Longest command line read: enough for real ones, bounded against a 2 MB hostile one. */
const CMDLINE_CAP_BYTES = 128 * 1024;

/**
 * A kept process's command line is read again after this many reads, or at once when its comm
 * changes (an exec). In between the last one is reused: reading it makes the kernel walk the
 * process's memory, a third of a sweep's cost, for text that almost never changes.
 */
const CMDLINE_REREAD_EVERY = 8;

/**
 * Reads processes from /proc. Between sweeps it keeps each process's `stat`, `statm` and `cmdline` open and
 * re-reads them with pread at offset 0: one syscall per file instead of three. A kept fd stays
 * bound to the process it was opened for, so after that process exits it fails with ESRCH and
 * can never read a newcomer that reuses the pid.
 */
export class ProcReader {
  readonly root: string;
  readonly cgroupRoot: string;
  readonly errors: ReadErrorCounts = { denied: 0, failed: 0 };
  private readonly cache = new Map<number, CachedProcess>();
  private readonly maxCached: number;
  private readonly statBuffer = Buffer.allocUnsafe(4096);
  private readonly cmdlineBuffer = Buffer.allocUnsafe(CMDLINE_CAP_BYTES);
  private readonly schedstatBuffer = Buffer.allocUnsafe(128);
  /**
   * False when not asked for, or once schedstat shows no run time for a process that has used
   * CPU (scheduler statistics off).
   */
  private schedstatUsable: boolean;
  /** The pids of the last listing, less those found gone since, in the listing's order. */
  private listed: number[] = [];
  /** The fork count given with the sweep that listed them. */
  private listedForks: number | undefined;

  constructor(options: ReaderOptions = {}) {
    this.root = options.root ?? '/proc';
    this.cgroupRoot = options.cgroupRoot ?? '/sys/fs/cgroup';
    this.schedstatUsable = options.schedstat ?? true;
    // Four fds per kept process; leave room for everything else the process opens.
    this.maxCached = Math.max(0, Math.min(20_000, Math.floor((openFileSoftLimit() - 512) / 4)));
  }

  /** Every pid now listed in /proc. */
  listPids(): number[] {
    const pids: number[] = [];
    for (const name of readdirSync(this.root)) {
      const c = name.charCodeAt(0);
      if (c >= 48 && c <= 57) pids.push(Number(name));
    }
    return pids;
  }

  /** One process, or undefined when it is gone (or is not a process at all). */
  read(pid: number, options: ReadOptions = {}): ProcessRecord | undefined {
    const record = this.readAny(pid, options);
    return record === GONE ? undefined : record;
  }

  /**
   * Every process listed now; the ones that vanish while being read are left out. Without a
   * new listing (see SweepOptions.forks) the result is the same: a process that exited is
   * found gone through its kept fd, and a new one cannot have appeared.
   */
  sweep(options: SweepOptions = {}): ProcessRecord[] {
    const unchanged = options.forks !== undefined && options.forks === this.listedForks;
    const pids = unchanged ? this.listed : this.listPids();
    if (!unchanged) {
      const seen = new Set(pids);
      for (const pid of this.cache.keys()) if (!seen.has(pid)) this.forget(pid);
    }
    this.listedForks = options.forks;
    const records: ProcessRecord[] = [];
    let kept = 0;
    for (const pid of pids) {
      const record = this.readAny(pid, options);
      if (record === GONE) continue;
      // Pids that failed for another reason (denied, inside exit) stay: a listing would show them.
      pids[kept++] = pid;
      if (record) records.push(record);
    }
    pids.length = kept;
    this.listed = pids;
    return records;
  }

  /** The current identity of a pid, read fresh (never from a kept fd): the check before acting. */
  identity(pid: number): ProcessIdentity | undefined {
    const buffer = Buffer.allocUnsafe(4096);
    const read = readOnce(`${this.root}/${pid}/stat`, buffer);
    if (!read.ok) return undefined;
    const stat = parseStat(buffer, read.bytes);
    return stat ? { pid, startTicks: stat.startTicks } : undefined;
  }

  /** Which cgroups a process is in (kept per process: moving a process is rare). */
  cgroupPaths(pid: number): CgroupPaths | undefined {
    const cached = this.cache.get(pid);
    if (cached?.cgroupPaths) return cached.cgroupPaths;
    const text = readText(`${this.root}/${pid}/cgroup`, 16 * 1024);
    if (typeof text !== 'string') return undefined;
    const paths = parseCgroupFile(text);
    if (cached) cached.cgroupPaths = paths;
    return paths;
  }

  /** Closes every kept fd. The reader can still be used; it reopens as needed. */
  close(): void {
    for (const pid of [...this.cache.keys()]) this.forget(pid);
  }

  get keptProcesses(): number {
    return this.cache.size;
  }

  private forget(pid: number): void {
    const cached = this.cache.get(pid);
    if (!cached) return;
    this.cache.delete(pid);
    closeEntry(cached);
  }

  /** Opens a file that may be missing or denied: -1 then, and stat alone decides if the process is gone. */
  private openOptional(path: string): number {
    try {
      return openSync(path, PROC_OPEN_FLAGS);
    } catch (err) {
      const outcome = classify(err);
      if (outcome.reason !== 'gone') this.count(outcome.reason);
      return -1;
    }
  }

  /** GONE only when the pid has no stat any more; a kept fd that fails is retried fresh next time. */
  private readAny(pid: number, options: ReadOptions): ProcessRecord | typeof GONE | undefined {
    const cached = this.cache.get(pid);
    if (!cached) return this.readFresh(pid, options);
    const record = this.readWith(pid, cached, options);
    if (!record) this.forget(pid);
    return record;
  }

  private readFresh(pid: number, options: ReadOptions): ProcessRecord | typeof GONE | undefined {
    const dir = `${this.root}/${pid}`;
    let statFd: number;
    try {
      statFd = openSync(`${dir}/stat`, PROC_OPEN_FLAGS);
    } catch (err) {
      const outcome = classify(err);
      this.count(outcome.reason);
      return outcome.reason === 'gone' ? GONE : undefined;
    }
    // The directory, not the open stat: a non-dumpable process's files are root's, while its
    // directory still shows its owner.
    let uid = -1;
    try {
      uid = statSync(dir).uid;
    } catch (err) {
      const outcome = classify(err);
      if (outcome.reason === 'gone') {
        closeSync(statFd);
        return GONE;
      }
      this.count(outcome.reason);
    }
    const entry: CachedProcess = {
      startTicks: -1,
      startTime: 0,
      statFd,
      statmFd: this.openOptional(`${dir}/statm`),
      cmdlineFd: this.openOptional(`${dir}/cmdline`),
      uid,
      user: userName(uid),
      cmdlineAge: 0,
      statmRssPages: -1,
      statmFaults: -1,
      statmCpuTicks: -1,
      schedstatFd: this.schedstatUsable ? this.openOptional(`${dir}/schedstat`) : -1,
      runtime: this.schedstatUsable ? Buffer.allocUnsafe(RUNTIME_BYTES) : NO_RUNTIME,
      runtimeLength: -1,
      refreshIn: 1 + (pid % REFRESH_EVERY),
    };
    const record = this.readWith(pid, entry, options);
    if (record && this.cache.size < this.maxCached) this.cache.set(pid, entry);
    else closeEntry(entry);
    return record;
  }

  /**
   * The process's stat: the last one again when it is single-threaded and has not run since
   * (see REFRESH_EVERY), else read anew. schedstat is read first, so a run between the two reads
   * makes the next comparison fail rather than hide the run.
   */
  private currentStat(entry: CachedProcess, refresh: boolean): StatFields | undefined {
    const last = entry.lastStat;
    let runtimeLength = -1;
    if (entry.schedstatFd >= 0 && this.schedstatUsable && (last === undefined || last.threads === 1)) {
      const read = preadAll(entry.schedstatFd, this.schedstatBuffer);
      if (!read.ok && read.reason === 'gone') return undefined;
      if (read.ok) {
        runtimeLength = this.schedstatBuffer.indexOf(SPACE_BYTE);
        if (runtimeLength > RUNTIME_BYTES || runtimeLength > read.bytes) runtimeLength = -1;
      }
      if (
        last !== undefined &&
        !refresh &&
        runtimeLength > 0 &&
        runtimeLength === entry.runtimeLength &&
        sameBytes(this.schedstatBuffer, entry.runtime, runtimeLength)
      )
        return last;
    }
    const statRead = preadAll(entry.statFd, this.statBuffer);
    if (!statRead.ok) {
      if (statRead.reason !== 'gone') this.count(statRead.reason);
      return undefined;
    }
    const stat = parseStat(this.statBuffer, statRead.bytes);
    if (!stat) return undefined;
    if (
      runtimeLength === 1 &&
      this.schedstatBuffer[0] === ZERO_BYTE &&
      stat.utimeTicks + stat.stimeTicks > 0
    ) {
      // A kernel without scheduler statistics shows 0 for every task: no use as a change signal.
      this.schedstatUsable = false;
      runtimeLength = -1;
    }
    if (runtimeLength > 0) this.schedstatBuffer.copy(entry.runtime, 0, 0, runtimeLength);
    entry.runtimeLength = runtimeLength;
    entry.lastStat = stat;
    return stat;
  }

  private readWith(pid: number, entry: CachedProcess, options: ReadOptions): ProcessRecord | undefined {
    const refresh = --entry.refreshIn <= 0;
    if (refresh) entry.refreshIn = REFRESH_EVERY;
    const previous = entry.lastStat;
    const stat = this.currentStat(entry, refresh);
    if (!stat) return undefined;
    const cpuReadMs = performance.now();
    // The same stat as last time: the process has not run, so its command line cannot have moved.
    const fresh = stat !== previous;
    if (entry.startTicks === -1) {
      entry.startTicks = stat.startTicks;
      entry.startTime = Math.round(
        (bootTimeSeconds(this.root) + stat.startTicks / CLOCK_TICKS_PER_SECOND) * 1000,
      );
    }
    const kernelThread = (stat.flags & PF_KTHREAD) !== 0;
    // A user process with no address space left is inside exit(): it is as good as gone, and
    // its empty command line and zero memory would only look like a sudden drop.
    if (!kernelThread && stat.state !== 'Z' && stat.vmsBytes === 0) return undefined;
    let partial: string[] | undefined;

    let cmdline: string[] = [];
    const reuse =
      entry.cmdline !== undefined &&
      entry.cmdlineComm === stat.name &&
      entry.cmdlineAge < CMDLINE_REREAD_EVERY &&
      stat.state !== 'Z';
    if (reuse && entry.cmdline) {
      cmdline = entry.cmdline;
      if (fresh) entry.cmdlineAge++;
    } else if (kernelThread) {
      // A kernel thread has no memory map, so its command line is always empty: no read needed.
    } else if (entry.cmdlineFd >= 0) {
      const cmdRead = preadAll(entry.cmdlineFd, this.cmdlineBuffer);
      if (cmdRead.ok) {
        cmdline = parseCmdline(this.cmdlineBuffer, cmdRead.bytes);
        // An empty one (a process inside execve) is not worth keeping.
        if (cmdline.length > 0) {
          entry.cmdline = cmdline;
          entry.cmdlineComm = stat.name;
          entry.cmdlineAge = 0;
        }
      } else if (cmdRead.reason === 'gone') return undefined;
      else {
        this.count(cmdRead.reason);
        partial = ['cmdline'];
      }
    } else partial = ['cmdline'];
    // An empty cmdline from a live user process means it exited between the two reads: a
    // half-read process is dropped whole rather than reported with a blank command.
    if (cmdline.length === 0 && !kernelThread && stat.state !== 'Z' && !this.stillThere(entry)) {
      return undefined;
    }

    const record: ProcessRecord = {
      pid,
      ppid: stat.ppid,
      name: processName(stat.name),
      cmdline,
      state: stat.state,
      uid: entry.uid,
      user: entry.user,
      startTicks: stat.startTicks,
      startTime: entry.startTime,
      cpuTicks: stat.utimeTicks + stat.stimeTicks,
      cpuReadMs,
      threads: stat.threads,
      kernelThread,
    };
    if (kernelThread) {
      record.rss = 0;
      record.vms = 0;
    } else if (stat.state !== 'Z') {
      // statm, not stat, for RSS: on recent kernels stat's rss is a per-CPU approximation that
      // can lag the exact count (what statm, status and psutil report) by dozens of pages.
      // The size is the same total_vm in both files, so stat's is exact.
      const rss = this.exactRss(entry, stat, refresh);
      if (rss === 'gone') return undefined;
      record.rss = rss ?? stat.rssPages * pageSizeBytes();
      record.vms = stat.vmsBytes;
    }
    // A zombie has no memory map: its RSS stays unknown, not zero.
    if (partial !== undefined) record.partial = partial;
    if (options.smaps && !this.addSmaps(record)) return undefined;
    return record;
  }

  /**
   * Adds PSS, USS and swap from smaps_rollup to a record (slow: the kernel walks every mapping,
   * so callers ask only for the processes they care about). Returns false when the process is
   * gone; a refusal is named in `partial` instead.
   */
  addSmaps(record: ProcessRecord): boolean {
    if (record.rss === undefined || record.kernelThread) return true;
    const text = readText(`${this.root}/${record.pid}/smaps_rollup`, 4096);
    if (typeof text === 'string') {
      const rollup = parseSmapsRollup(text);
      if (rollup) Object.assign(record, rollup);
      return true;
    }
    if (text.ok === false && text.reason === 'gone') return false;
    if (text.ok === false) {
      this.count(text.reason);
      record.partial = [...(record.partial ?? []), 'smaps'];
    }
    return true;
  }

  /** RSS from statm, read again only when it may have changed; undefined where it cannot be read. */
  private exactRss(entry: CachedProcess, stat: StatFields, refresh: boolean): number | 'gone' | undefined {
    if (entry.statmFd < 0) return undefined;
    const faults = stat.minorFaults + stat.majorFaults;
    const cpuTicks = stat.utimeTicks + stat.stimeTicks;
    if (
      entry.rssBytes !== undefined &&
      !refresh &&
      stat.rssPages === entry.statmRssPages &&
      faults === entry.statmFaults &&
      cpuTicks === entry.statmCpuTicks
    ) {
      return entry.rssBytes;
    }
    const read = preadAll(entry.statmFd, this.statBuffer);
    if (!read.ok) {
      if (read.reason === 'gone') return 'gone';
      this.count(read.reason);
      entry.rssBytes = undefined;
      return undefined;
    }
    const fields = parseStatm(this.statBuffer, read.bytes);
    // No address space by the time statm was read: the process is inside exit().
    if (fields.sizePages === 0) return 'gone';
    entry.rssBytes = fields.residentPages * pageSizeBytes();
    entry.statmRssPages = stat.rssPages;
    entry.statmFaults = faults;
    entry.statmCpuTicks = cpuTicks;
    return entry.rssBytes;
  }

  private stillThere(entry: CachedProcess): boolean {
    return preadAll(entry.statFd, this.statBuffer).ok;
  }

  private count(reason: 'gone' | 'denied' | 'failed'): void {
    if (reason === 'denied') this.errors.denied++;
    else if (reason === 'failed') this.errors.failed++;
  }
}

function closeEntry(entry: CachedProcess): void {
  closeSync(entry.statFd);
  if (entry.statmFd >= 0) closeSync(entry.statmFd);
  if (entry.cmdlineFd >= 0) closeSync(entry.cmdlineFd);
  if (entry.schedstatFd >= 0) closeSync(entry.schedstatFd);
}

/**
 * Whether the first `length` bytes of two buffers are equal: a run time is a few digits, and a
 * loop over them costs less than Buffer.compare's range checks and views.
 */
function sameBytes(a: Buffer, b: Buffer, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const SPACE_BYTE = 0x20;
const ZERO_BYTE = 0x30;
