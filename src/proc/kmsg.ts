import { closeSync, constants, openSync, readSync } from 'node:fs';
import { errnoCode } from '../errors.js';

/** One OOM kill as the kernel logged it. */
export interface KernelOomKill {
  pid: number;
  /** The kernel's name of the task (comm), untrusted. */
  name: string;
  /** Microseconds since boot, from the record's prefix. */
  timeUs: number;
  /** `CONSTRAINT_MEMCG` (a cgroup's limit), `CONSTRAINT_NONE` (the machine) and the like. */
  constraint?: string;
  /** The cgroup whose limit was hit, and the one the task was in. */
  oomMemcg?: string;
  taskMemcg?: string;
  anonRssBytes?: number;
  totalVmBytes?: number;
}

/** Records read per poll at most: a flood of kernel messages cannot stall a tick. */
const MAX_RECORDS_PER_READ = 4096;
/** A kmsg record is at most about 1 KiB of text; the kernel refuses reads into a smaller buffer. */
const RECORD_BUFFER_BYTES = 8192;

/**
 * `oom-kill:constraint=…,oom_memcg=/x,task_memcg=/x,task=python3,pid=123,uid=0`: the kernel's
 * summary of a kill (since 4.19), keyed by pid.
 */
function parseSummary(text: string): Partial<KernelOomKill> & { pid?: number } {
  const out: Partial<KernelOomKill> = {};
  for (const part of text.slice('oom-kill:'.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key === 'constraint') out.constraint = value;
    else if (key === 'oom_memcg') out.oomMemcg = value;
    else if (key === 'task_memcg') out.taskMemcg = value;
    else if (key === 'task') out.name = value;
    else if (key === 'pid') out.pid = Number(value);
  }
  return out;
}

const KILLED = /Killed process (\d+) \((.*?)\) total-vm:(\d+)kB, anon-rss:(\d+)kB/;

/**
 * Parses one `/dev/kmsg` record (`prio,seq,usec,flags;text`). Returns the kill it reports, or
 * the summary part of one (`oom-kill:`) for the caller to join with the `Killed process` line
 * that follows it, or undefined for every other message.
 */
export function parseKmsgRecord(
  record: string,
): { kind: 'summary'; kill: Partial<KernelOomKill> } | { kind: 'killed'; kill: KernelOomKill } | undefined {
  const semi = record.indexOf(';');
  if (semi < 0) return undefined;
  const head = record.slice(0, semi).split(',');
  const timeUs = Number(head[2] ?? 0) || 0;
  const newline = record.indexOf('\n', semi);
  const text = record.slice(semi + 1, newline < 0 ? undefined : newline);
  if (text.startsWith('oom-kill:')) {
    const summary = parseSummary(text);
    if (summary.pid === undefined || !Number.isInteger(summary.pid)) return undefined;
    return { kind: 'summary', kill: { ...summary, timeUs } };
  }
  const m = KILLED.exec(text);
  if (!m) return undefined;
  return {
    kind: 'killed',
    kill: {
      pid: Number(m[1]),
      name: m[2] ?? '',
      timeUs,
      totalVmBytes: Number(m[3]) * 1024,
      anonRssBytes: Number(m[4]) * 1024,
    },
  };
}

/**
 * The kernel log's OOM kills, read from where the log was when the reader was opened: older
 * records are skipped once at open (Node has no lseek, so they are read and dropped), and each
 * `read()` returns the kills logged since the previous one, never blocking (O_NONBLOCK; EAGAIN
 * is the end). Records the kernel overwrote before they were read (EPIPE) are skipped.
 */
export class KernelLog {
  private fd: number | undefined;
  private readonly buffer = Buffer.allocUnsafe(RECORD_BUFFER_BYTES);
  /** `oom-kill:` summaries waiting for their `Killed process` line, by pid. */
  private readonly summaries = new Map<number, Partial<KernelOomKill>>();
  /** Why the log cannot be read (`EACCES`, `ENOENT`…), when it cannot. */
  readonly unavailable: string | undefined;

  constructor(readonly path = '/dev/kmsg') {
    try {
      this.fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      this.unavailable = errnoCode(err) ?? String(err);
      return;
    }
    // The first read also tells whether reading is allowed (dmesg_restrict applies to reads).
    const skipped = this.drain(() => undefined, Number.POSITIVE_INFINITY);
    if (skipped !== undefined) this.unavailable = skipped;
  }

  /** Kills logged since the last call (at most a bounded number of records per call). */
  read(): KernelOomKill[] {
    const kills: KernelOomKill[] = [];
    this.drain((record) => {
      const parsed = parseKmsgRecord(record);
      if (parsed?.kind === 'summary' && parsed.kill.pid !== undefined) {
        this.summaries.set(parsed.kill.pid, parsed.kill);
        // A summary whose line never came is not kept forever.
        if (this.summaries.size > 64) this.summaries.delete(this.summaries.keys().next().value as number);
      } else if (parsed?.kind === 'killed') {
        const summary = this.summaries.get(parsed.kill.pid);
        this.summaries.delete(parsed.kill.pid);
        kills.push({ ...summary, ...parsed.kill, name: parsed.kill.name || summary?.name || '' });
      }
    }, MAX_RECORDS_PER_READ);
    return kills;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Reads records until EAGAIN or `max`; returns an error code when reading failed otherwise. */
  private drain(onRecord: (record: string) => void, max: number): string | undefined {
    if (this.fd === undefined) return undefined;
    for (let n = 0; n < max; n++) {
      let bytes: number;
      try {
        bytes = readSync(this.fd, this.buffer, 0, this.buffer.length, null);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'EAGAIN') return undefined;
        if (code === 'EPIPE') continue;
        this.close();
        return code ?? String(err);
      }
      if (bytes === 0) return undefined;
      onRecord(this.buffer.toString('utf8', 0, bytes));
    }
    return undefined;
  }
}
