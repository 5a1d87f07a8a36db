/**
 * select: which processes are targets. Filters by command-line substring, regex or glob,
 * executable name, pid or pid file, and user, optionally with descendants; drops zombies and
 * stopped processes unless asked; says why each process matched. Also by cgroup, systemd unit
 * and container, read from each process's cgroup paths.
 */

export { cgroupPathOf, containerIdOf, type TargetCgroup, targetCgroup, unitOf } from './cgroup-match.js';
export type { ProcessFilter } from './filter.js';
export { compileGlob, compileRegex, MATCH_PREFIX_CHARS } from './pattern.js';
export {
  type CompiledFilter,
  type CompileOptions,
  commandLineOf,
  compileFilter,
  type Selection,
  selectProcesses,
} from './select.js';
