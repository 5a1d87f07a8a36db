import type { RuleSpec } from '../rules/index.js';
import { findLldb, ptracePreflight } from '../runtimes/debugger.js';

/**
 * What the runtime actions of the rules can count on here, said once when the config loads
 * rather than at the first firing: Python injection and `trim` need lldb and ptrace rights
 * (Node's inspector and the Python agent need neither). memwarden reads ptrace_scope and never
 * changes it.
 */
export function preflightWarnings(rules: readonly RuleSpec[]): string[] {
  const injecting = rules.filter((r) =>
    r.actions.some((a) => a.kind === 'gc' || a.kind === 'snapshot' || a.kind === 'trim'),
  );
  if (injecting.length === 0) return [];
  const ids = injecting.map((r) => r.id).join(', ');
  const warnings: string[] = [];
  if (!findLldb()) {
    warnings.push(
      `rules ${ids}: lldb is not installed, so gc/snapshot reach Python processes only through their memwarden agent (or sys.remote_exec on 3.14+), and trim cannot run (apt-get install lldb)`,
    );
  }
  const ptrace = ptracePreflight(process.geteuid?.() ?? 0);
  if (!ptrace.allowed) {
    warnings.push(`rules ${ids}: injection into Python or native processes is unavailable: ${ptrace.reason}`);
  }
  return warnings;
}
