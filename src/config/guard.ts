import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { type EscalationStep, parseEscalation } from '../actions/index.js';
import { MemwardenError } from '../errors.js';
import { type Condition, parseCondition, RuleParseError } from '../rules/index.js';
import type { ProcessFilter } from '../select/index.js';
import type { KeyPath } from './issues.js';
import type { ConfigReader, Entry } from './reader.js';

/** What the guard watches: the whole machine, or one memory cgroup (a container, a service). */
export type GuardScope = { kind: 'machine' } | { kind: 'cgroup'; dir: string };

/** The `guard:` section, or `memwarden guard`'s options: the same settings either way. */
export interface GuardConfig {
  scope: GuardScope;
  when: Condition;
  prefer?: ProcessFilter;
  avoid?: ProcessFilter;
  escalate: EscalationStep[];
  /** Name the victim and the ranking; act on nothing. */
  dryRun: boolean;
}

export const GUARD_KEYS = ['scope', 'when', 'prefer', 'avoid', 'escalate', 'dry_run'];
export const DEFAULT_GUARD_WHEN = 'available < 5% or psi.full > 20%';
export const DEFAULT_GUARD_ESCALATE = ['signal SIGTERM', 'wait 10s', 'signal SIGKILL'];
/** Where a cgroup scope given by its name alone is looked for. */
const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * The metrics a guard's condition may use: they describe the scope, not one process. In a
 * cgroup scope `available` is the cgroup's limit minus its usage, `limit%` its usage over its
 * limit and `psi.*` its own pressure.
 */
const SCOPE_METRICS = /^(available|mem%|limit%|psi\.(some|full)(10|60|300)?)$/;

/** Why a condition cannot be a guard's, or undefined when it can. */
export function guardConditionProblem(condition: Condition): string | undefined {
  for (const clause of condition.clauses) {
    if (clause.kind !== 'compare')
      return `'${clause.text}' is about one process; a guard's condition is about its scope: available, mem%, limit%, psi.some, psi.full`;
    if (!SCOPE_METRICS.test(clause.metric))
      return `'${clause.metric}' is not a measure of the guard's scope; use available, mem%, limit%, psi.some or psi.full`;
  }
  if (condition.persistence.kind !== 'immediate')
    return `'for' and 'times within' are not for a guard: it must act the moment its condition holds`;
  return undefined;
}

function parseScope(text: string): GuardScope {
  if (text === 'machine') return { kind: 'machine' };
  return {
    kind: 'cgroup',
    dir: text.startsWith('/sys/') ? text : `${CGROUP_ROOT}/${text.replace(/^\/+/, '')}`,
  };
}

export interface GuardFlags {
  scope?: string;
  when?: string;
  prefer?: ProcessFilter;
  avoid?: ProcessFilter;
  escalate?: string[];
  dryRun?: boolean;
}

/** `memwarden guard`'s flags as a guard; a bad value is a usage error naming the flag. */
export function guardFromFlags(options: GuardFlags): GuardConfig {
  const whenText = options.when ?? DEFAULT_GUARD_WHEN;
  let when: Condition;
  try {
    when = parseCondition(whenText);
  } catch (err) {
    if (err instanceof RuleParseError) throw new MemwardenError('MW_USAGE', `--when: ${err.message}`);
    throw err;
  }
  const problem = guardConditionProblem(when);
  if (problem !== undefined) throw new MemwardenError('MW_USAGE', `--when: ${problem}`);
  let escalate: EscalationStep[];
  try {
    escalate = parseEscalation(options.escalate ?? DEFAULT_GUARD_ESCALATE);
  } catch (err) {
    throw new MemwardenError('MW_USAGE', `--escalate: ${err instanceof Error ? err.message : String(err)}`);
  }
  const guard: GuardConfig = {
    scope: parseScope(options.scope ?? 'machine'),
    when,
    escalate,
    dryRun: options.dryRun ?? false,
  };
  if (options.prefer) guard.prefer = options.prefer;
  if (options.avoid) guard.avoid = options.avoid;
  return guard;
}

/** How the config parser reads what a guard shares with targets and rules. */
export interface GuardSectionParts {
  match(node: Node | undefined, path: KeyPath): ProcessFilter | undefined;
  condition(node: Node, path: KeyPath): Condition | undefined;
  steps(node: Node, path: KeyPath): EscalationStep[] | undefined;
}

/** The `guard:` section of a config file; every problem is reported at its node. */
export function parseGuardSection(
  r: ConfigReader,
  entry: Entry | undefined,
  parts: GuardSectionParts,
): GuardConfig | undefined {
  if (entry === undefined) return undefined;
  const fields = r.map(entry.value, ['guard'], GUARD_KEYS, entry.key);
  if (fields === undefined) return undefined;
  let ok = true;
  let scope: GuardScope = { kind: 'machine' };
  const scopeEntry = fields.get('scope');
  if (scopeEntry !== undefined) {
    const node = scopeEntry.value;
    if (isScalar(node) && node.value === 'machine') scope = { kind: 'machine' };
    else if (isMap(node)) {
      const scopeFields = r.map(node, ['guard', 'scope'], ['cgroup'], scopeEntry.key);
      const cgroup = scopeFields?.get('cgroup');
      const dir =
        cgroup === undefined
          ? undefined
          : r.string(cgroup.value, ['guard', 'scope', 'cgroup'], 'the path of a memory cgroup', cgroup.key);
      if (dir === undefined) {
        if (scopeFields !== undefined && cgroup === undefined)
          r.report(node, ['guard', 'scope'], 'expected { cgroup: /sys/fs/cgroup/… }');
        ok = false;
      } else scope = parseScope(dir);
    } else {
      r.report(
        node ?? scopeEntry.key,
        ['guard', 'scope'],
        'expected machine or { cgroup: /sys/fs/cgroup/… }',
      );
      ok = false;
    }
  }
  const whenEntry = fields.get('when');
  let when: Condition | undefined;
  if (whenEntry?.value === undefined) when = parseCondition(DEFAULT_GUARD_WHEN);
  else {
    when = parts.condition(whenEntry.value, ['guard', 'when']);
    const problem = when === undefined ? undefined : guardConditionProblem(when);
    if (problem !== undefined) {
      r.report(whenEntry.value, ['guard', 'when'], problem);
      when = undefined;
    }
  }
  const filter = (key: 'prefer' | 'avoid'): ProcessFilter | undefined => {
    const e = fields.get(key);
    if (e === undefined) return undefined;
    const f = parts.match(e.value ?? e.key, ['guard', key]);
    if (f === undefined) ok = false;
    return f;
  };
  const prefer = filter('prefer');
  const avoid = filter('avoid');
  const escalateEntry = fields.get('escalate');
  let escalate: EscalationStep[] | undefined;
  if (escalateEntry === undefined) escalate = parseEscalation(DEFAULT_GUARD_ESCALATE);
  else if (escalateEntry.value === undefined || !isSeq(escalateEntry.value)) {
    r.report(
      escalateEntry.value ?? escalateEntry.key,
      ['guard', 'escalate'],
      'expected a list of steps such as [gc, wait 5s, signal SIGTERM]',
    );
  } else escalate = parts.steps(escalateEntry.value, ['guard', 'escalate']);
  const dryEntry = fields.get('dry_run');
  const dryRun =
    dryEntry === undefined ? false : r.boolean(dryEntry.value, ['guard', 'dry_run'], dryEntry.key);
  if (!ok || when === undefined || escalate === undefined || dryRun === undefined) return undefined;
  const guard: GuardConfig = { scope, when, escalate, dryRun };
  if (prefer) guard.prefer = prefer;
  if (avoid) guard.avoid = avoid;
  return guard;
}

/** The guard on one line, for `check` and the start of `guard`. */
export function describeGuard(guard: GuardConfig): string {
  const scope = guard.scope.kind === 'machine' ? 'the machine' : `cgroup ${guard.scope.dir}`;
  return `guard over ${scope} when '${guard.when.source}'${guard.dryRun ? ' (dry run: acts on nothing)' : ''}`;
}
