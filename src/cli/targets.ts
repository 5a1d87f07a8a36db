import { MemwardenError } from '../errors.js';
import { type ProcessIdentity, ProcReader } from '../proc/index.js';
import { compileFilter, selectProcesses } from '../select/index.js';

/** A pid as typed on the command line: digits only, above 0. */
export function parsePid(text: string, what: string): number {
  const pid = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new MemwardenError('MW_USAGE', `${what}: '${text}' is not a pid`);
  }
  return pid;
}

/**
 * The targets of `gc PID|PATTERN…`: a number is that pid; anything else selects what
 * `memwarden ps PATTERN` would, remembered with its start time so that a pid reused before
 * the action is refused. Every pattern must match something.
 */
export function resolveTargets(words: readonly string[]): (number | ProcessIdentity)[] {
  const pids = words.filter((w) => /^\d+$/.test(w)).map((w) => parsePid(w, 'target'));
  const patterns = words.filter((w) => !/^\d+$/.test(w));
  const targets: (number | ProcessIdentity)[] = [...pids];
  if (patterns.length > 0) {
    const reader = new ProcReader();
    try {
      const selection = selectProcesses(reader.sweep(), compileFilter({ substrings: patterns }));
      if (selection.unmatched.length > 0) {
        throw new MemwardenError('MW_NO_PROCESS', `${selection.unmatched.join(', ')} matched no process`);
      }
      for (const r of selection.records) {
        if (!pids.includes(r.pid)) targets.push({ pid: r.pid, startTicks: r.startTicks });
      }
    } finally {
      reader.close();
    }
  }
  return targets;
}

export function pidOfTarget(target: number | ProcessIdentity): number {
  return typeof target === 'number' ? target : target.pid;
}
