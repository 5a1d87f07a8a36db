import type { ProcessRecord } from '../proc/index.js';
import { protectionReason } from './protect.js';

/** One process the guard could act on, as it ranks them. */
export interface Candidate {
  pid: number;
  startTicks: number;
  name: string;
  cmdline: readonly string[];
  /** What killing it gives back (smaps_rollup); undefined when unreadable, then RSS stands in. */
  ussBytes?: number;
  rssBytes?: number;
  oomScoreAdj?: number;
  /** Matched by the guard's `prefer`: ranked before every other. */
  preferred: boolean;
}

/** A process the guard will not act on, and why. */
export interface Exclusion {
  pid: number;
  name: string;
  why: string;
}

export interface VictimRanking {
  /** Best victim first. */
  ranking: Candidate[];
  excluded: Exclusion[];
}

export interface RankOptions {
  /** Which of the records `prefer` and `avoid` match (pids). */
  preferred: ReadonlySet<number>;
  avoided: ReadonlySet<number>;
  /** memwarden, its parent chain; pid 1 and kernel threads are refused whatever this holds. */
  protectedPids: ReadonlySet<number>;
  /** Read for the records that may be ranked, and only for them (it costs a smaps_rollup read). */
  measure(record: ProcessRecord): { ussBytes?: number; oomScoreAdj?: number } | undefined;
}

function freed(c: Candidate): number {
  return c.ussBytes ?? c.rssBytes ?? 0;
}

/**
 * Ranks the processes of a guard's scope by what acting on them would free: `prefer`red ones
 * first, then by USS (the memory only that process holds: what a kill gives back, where RSS
 * would count shared libraries and PSS half of them), then by `oom_score_adj`, highest first —
 * the owner's own word on who should go. `avoid`ed, protected and vanished processes are never
 * ranked, and each is listed with the reason.
 */
export function rankVictims(records: readonly ProcessRecord[], options: RankOptions): VictimRanking {
  const ranking: Candidate[] = [];
  const excluded: Exclusion[] = [];
  for (const record of records) {
    const protection = protectionReason(record, options.protectedPids);
    if (protection !== undefined) {
      // Kernel threads and pid 1 are refused silently: listing them would only be noise.
      if (!record.kernelThread && record.pid !== 1)
        excluded.push({ pid: record.pid, name: record.name, why: protection });
      continue;
    }
    if (options.avoided.has(record.pid)) {
      excluded.push({ pid: record.pid, name: record.name, why: 'matched by avoid' });
      continue;
    }
    const measured = options.measure(record);
    if (measured === undefined) continue;
    const candidate: Candidate = {
      pid: record.pid,
      startTicks: record.startTicks,
      name: record.name,
      cmdline: record.cmdline,
      preferred: options.preferred.has(record.pid),
    };
    if (measured.ussBytes !== undefined) candidate.ussBytes = measured.ussBytes;
    if (record.rss !== undefined) candidate.rssBytes = record.rss;
    if (measured.oomScoreAdj !== undefined) candidate.oomScoreAdj = measured.oomScoreAdj;
    ranking.push(candidate);
  }
  ranking.sort(
    (a, b) =>
      Number(b.preferred) - Number(a.preferred) ||
      freed(b) - freed(a) ||
      (b.oomScoreAdj ?? 0) - (a.oomScoreAdj ?? 0) ||
      a.pid - b.pid,
  );
  return { ranking, excluded };
}

/**
 * memwarden's own pid and every ancestor up to (not including) pid 1: a guard that killed its
 * parent shell or its service manager's scope would take itself down with it.
 */
export function ancestorPids(records: readonly ProcessRecord[], pid = process.pid): Set<number> {
  const parents = new Map(records.map((r) => [r.pid, r.ppid]));
  const chain = new Set<number>();
  for (let current: number | undefined = pid; current !== undefined && current > 1 && !chain.has(current); ) {
    chain.add(current);
    current = parents.get(current) ?? (current === process.pid ? process.ppid : undefined);
  }
  return chain;
}
