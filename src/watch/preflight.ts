import type { WatchConfig } from '../config/index.js';
import { uidOf } from '../proc/index.js';
import type { RuleSpec } from '../rules/index.js';
import { findLldb, ptracePreflight } from '../runtimes/index.js';
import type { ProcessFilter } from '../select/index.js';
import { probePolicy, refusalReason } from './probe-users.js';

/**
 * What the runtime actions of the rules can count on here, said once when the config loads
 * rather than at the first firing: Python injection and `trim` need lldb and ptrace rights
 * (Node's inspector and the Python agent need neither). memwarden reads ptrace_scope and never
 * changes it.
 */
/** Everything a rule may carry out: its `do:` actions and its chain's steps. */
function everyStep(rule: RuleSpec): readonly { kind: string }[] {
  return [...rule.actions, ...(rule.escalate ?? [])];
}

function preflightWarnings(rules: readonly RuleSpec[]): string[] {
  const injecting = rules.filter((r) =>
    everyStep(r).some((a) => a.kind === 'gc' || a.kind === 'snapshot' || a.kind === 'trim'),
  );
  if (injecting.length === 0) return [];
  const ids = injecting.map((r) => r.id).join(', ');
  const warnings: string[] = [];
  if (!findLldb()) {
    warnings.push(
      `rules ${ids}: lldb is not installed, so gc/snapshot reach Python processes only through their memwarden agent (or sys.remote_exec on 3.14+), Node.js processes are collected but not trimmed, and trim cannot run (apt-get install lldb)`,
    );
  }
  const ptrace = ptracePreflight(process.geteuid?.() ?? 0);
  if (!ptrace.allowed) {
    warnings.push(`rules ${ids}: injection into Python or native processes is unavailable: ${ptrace.reason}`);
  }
  return warnings;
}

/** A filter that names a process only by its name, which any user can give their own process. */
function nameOnly(match: ProcessFilter): boolean {
  const others = [match.substrings, match.regexes, match.globs, match.pids, match.pidfiles, match.users];
  return (match.names?.length ?? 0) > 0 && others.every((list) => (list?.length ?? 0) === 0) && !match.all;
}

/**
 * Targets that act on processes matched by name alone: anyone can start a process called
 * `nginx` (scenario 40c). Naming the user as well closes that door.
 */
function impostorWarnings(
  targets: readonly { name: string; match: ProcessFilter; rules: readonly RuleSpec[] }[],
): string[] {
  return targets
    .filter((t) => nameOnly(t.match) && t.rules.some((r) => everyStep(r).some((a) => a.kind !== 'log')))
    .map(
      (t) =>
        `target ${t.name} acts on processes matched by name alone, which any local user can imitate; add user: (or a pid file) to its match`,
    );
}

/**
 * Exec actions that would run as root, as memwarden does when root and no `user:` is given
 * (scenario 16): a command run for a rule gets all of root's power, and its argv carries
 * strings the target chose (`{name}`).
 */
function rootExecWarnings(rules: readonly RuleSpec[], euid: number): string[] {
  if (euid !== 0) return [];
  const warnings: string[] = [];
  for (const rule of rules) {
    for (const action of rule.actions) {
      if (action.kind !== 'exec' || action.user !== undefined) continue;
      warnings.push(
        `rule ${rule.id}: exec ${action.argv[0] ?? ''} would run as root; give the action or its target user: (and group:) to run it as someone else`,
      );
    }
  }
  return warnings;
}

const OPENING = new Set(['gc', 'snapshot', 'trim']);

/**
 * Rules whose gc, snapshot or trim will be refused by probe_users, said at load rather than at
 * each firing; and probe_users that lists root, which lends root to every local user while an
 * inspector is open (scenario 40a).
 */
function probeUserWarnings(config: WatchConfig, ownUid: number): string[] {
  const policy = probePolicy(config.probeUids, ownUid);
  const warnings: string[] = [];
  const opening = config.targets
    .map((t) => ({ target: t, rules: t.rules.filter((r) => r.actions.some((a) => OPENING.has(a.kind))) }))
    .filter((t) => t.rules.length > 0);
  if (opening.length === 0) return [];
  if (policy.uids.length === 0) {
    const ids = opening.flatMap((t) => t.rules.map((r) => r.id)).join(', ');
    warnings.push(
      `rules ${ids}: gc/snapshot/trim will be refused for every process: ${refusalReason(policy, -1)}`,
    );
    return warnings;
  }
  for (const { target, rules } of opening) {
    const outside = (target.match.users ?? []).filter((user) => {
      const uid = uidOf(user);
      return uid !== undefined && !policy.uids.includes(uid);
    });
    if (outside.length > 0) {
      warnings.push(
        `target ${target.name}: rules ${rules.map((r) => r.id).join(', ')} ask for gc/snapshot/trim on processes of ${outside.join(', ')}, which will be refused: ${refusalReason(policy, uidOf(outside[0] as string) ?? -1)}`,
      );
    }
  }
  if (ownUid === 0 && policy.uids.includes(0)) {
    warnings.push(
      "probe_users lists root: while memwarden holds a root Node process's inspector open, any local user who connects to it runs code as root",
    );
  }
  return warnings;
}

/** Everything worth saying about a config before it runs, beyond what its parser says. */
export function loadTimeWarnings(config: WatchConfig, euid = process.geteuid?.() ?? -1): string[] {
  return [
    ...preflightWarnings(config.rules),
    ...impostorWarnings(config.targets),
    ...rootExecWarnings(config.rules, euid),
    ...probeUserWarnings(config, euid),
  ];
}
