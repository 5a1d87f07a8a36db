/**
 * Which processes are targets. Within one kind, patterns are OR'ed (`ps a b` matches either);
 * across kinds they are AND'ed (`--name node --user www-data` needs both).
 */
export interface ProcessFilter {
  /** Case-sensitive substrings of the whole command line (argv joined by spaces). */
  substrings?: string[];
  /** Regular expressions tested against the command line. */
  regexes?: string[];
  /** Shell-style globs (`*`, `?`, `[…]`) matched against the whole command line. */
  globs?: string[];
  /** Process names: comm (Node 24+'s main-thread name counts as `node`) or argv[0]'s basename. */
  names?: string[];
  pids?: number[];
  /** Files holding a pid; a missing or unreadable file is a usage error. */
  pidfiles?: string[];
  /** User names or numeric uids. */
  users?: string[];
  /** cgroup paths (v2, or inside the v1 memory controller), or globs of them; a subtree counts. */
  cgroups?: string[];
  /** systemd units (`redis-server.service`; `.service` when no suffix is given). */
  units?: string[];
  /** Container id prefixes, as docker, podman, containerd and CRI-O write them in cgroup paths. */
  containers?: string[];
  /** Also select every descendant of a matched process. */
  children?: boolean;
  /** Keep zombies (Z) and stopped (T, t) processes, which are left out by default. */
  includeStopped?: boolean;
  /** Select every process (patterns are then ignored). */
  all?: boolean;
}
