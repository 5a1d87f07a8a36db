import { availableParallelism } from 'node:os';
import { isScalar, isSeq, type Node } from 'yaml';
import { parseEscalation } from '../actions/index.js';
import { accountOf } from '../proc/index.js';
import {
  ActionSpecError,
  type Condition,
  DEFAULT_COOLDOWN_MS,
  type EscalationStep,
  parseActions,
  parseCondition,
  RuleParseError,
  type RuleScope,
  type RuleSpec,
} from '../rules/index.js';
import { nodeAt, type ParseContext } from './context.js';
import type { KeyPath } from './issues.js';
import type { Entry } from './reader.js';
import type { ExecAs } from './types.js';

const RULE_KEYS = ['when', 'scope', 'do', 'escalate', 'cooldown'];

/** Turns a rule's column into the file's offset when the scalar holds the text verbatim. */
function ruleOffset(text: string, node: Node, source: string, column: number): number {
  const start = node.range?.[0] ?? 0;
  if (!isScalar(node)) return start;
  const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
  const contentStart = start + (quoted ? 1 : 0);
  const verbatim =
    (node.type === 'PLAIN' || quoted) && text.slice(contentStart, contentStart + source.length) === source;
  return verbatim ? contentStart + column - 1 : start;
}

export function parseRules(
  ctx: ParseContext,
  entry: Entry | undefined,
  path: KeyPath,
  target: string,
  hasRun: boolean,
  execAs: ExecAs | undefined | null,
): RuleSpec[] | undefined {
  if (entry === undefined || entry.value === undefined) return [];
  if (!isSeq(entry.value)) {
    ctx.reader.report(entry.value, path, 'expected a list of rules, each with when and do');
    return undefined;
  }
  const rules: RuleSpec[] = [];
  entry.value.items.forEach((item, index) => {
    const node = ctx.reader.resolve(item);
    const rule = parseRule(
      ctx,
      node ?? entry.key,
      [...path, index],
      `${target}#${index + 1}`,
      target,
      hasRun,
      execAs ?? undefined,
    );
    if (rule !== undefined) {
      rules.push(rule);
      if (node !== undefined) ctx.ruleNodes.set(rule.id, node);
    }
  });
  return rules.length === entry.value.items.length ? rules : undefined;
}

function parseRule(
  ctx: ParseContext,
  node: Node,
  path: KeyPath,
  id: string,
  target: string,
  hasRun: boolean,
  execAs: ExecAs | undefined,
): RuleSpec | undefined {
  const r = ctx.reader;
  const fields = r.map(node, path, RULE_KEYS);
  if (fields === undefined) return undefined;
  const scopeEntry = fields.get('scope');
  const scopeText =
    scopeEntry === undefined
      ? undefined
      : r.string(scopeEntry.value, [...path, 'scope'], 'group or process', scopeEntry.key);
  if (scopeText !== undefined && scopeText !== 'group' && scopeText !== 'process') {
    r.report(scopeEntry?.value, [...path, 'scope'], `expected group or process, found '${scopeText}'`);
    return undefined;
  }
  if (scopeEntry !== undefined && scopeText === undefined) return undefined;
  const whenNode = r.required(fields, 'when', node, path, 'a condition such as rss > 500MB for 3m');
  const when =
    whenNode === undefined ? undefined : parseConditionAt(ctx, whenNode, [...path, 'when'], scopeText);
  const escalateEntry = fields.get('escalate');
  // A rule may do things at once, escalate step by step, or both; it must do something.
  const doNode =
    escalateEntry === undefined || fields.has('do')
      ? r.required(fields, 'do', node, path, 'a list of actions such as [log, gc], or escalate: [steps]')
      : undefined;
  const actions =
    doNode === undefined
      ? escalateEntry === undefined
        ? undefined
        : []
      : ruleList(ctx, doNode, [...path, 'do'], hasRun, execAs, parseActions);
  const escalate =
    escalateEntry === undefined
      ? undefined
      : ruleList(
          ctx,
          escalateEntry.value ?? escalateEntry.key,
          [...path, 'escalate'],
          hasRun,
          execAs,
          parseEscalation,
        );
  const cooldown = fields.get('cooldown');
  const cooldownMs =
    cooldown === undefined
      ? DEFAULT_COOLDOWN_MS
      : r.duration(cooldown.value, [...path, 'cooldown'], 0, '5m', cooldown.key);
  if (when === undefined || actions === undefined || cooldownMs === undefined) return undefined;
  if (escalateEntry !== undefined && escalate === undefined) return undefined;
  const rule: RuleSpec = { id, target, when, actions, cooldownMs };
  if (escalate !== undefined) rule.escalate = escalate;
  return rule;
}

/** A list read by `parse` (actions, escalation steps), its ActionSpecError placed where it points. */
function specList<T>(
  ctx: ParseContext,
  node: Node,
  path: KeyPath,
  parse: (value: unknown) => T[],
): T[] | undefined {
  try {
    return parse(ctx.reader.toJS(node));
  } catch (err) {
    if (!(err instanceof ActionSpecError)) throw err;
    ctx.reader.report(nodeAt(ctx.reader, node, err.path), [...path, ...err.path], err.reason);
    return undefined;
  }
}

/** A rule's `do:` or `escalate:` list: each exec given its account, a restart refused without run:. */
function ruleList<T extends EscalationStep>(
  ctx: ParseContext,
  node: Node,
  path: KeyPath,
  hasRun: boolean,
  execAs: ExecAs | undefined,
  parse: (value: unknown) => T[],
): T[] | undefined {
  const list = specList(ctx, node, path, parse);
  if (list === undefined || !execAccounts(ctx, list, node, path, execAs)) return undefined;
  return restartWithoutRun(ctx, list, node, path, hasRun) ? undefined : list;
}

/**
 * Gives each exec action the account it runs as (its own user:/group:, else the rule's or
 * target's), reporting accounts that do not exist; false when one does not.
 */
function execAccounts(
  ctx: ParseContext,
  list: readonly EscalationStep[],
  node: Node,
  path: KeyPath,
  execAs: ExecAs | undefined,
): boolean {
  let accountsOk = true;
  list.forEach((action, index) => {
    if (action.kind !== 'exec') return;
    if (action.user === undefined) {
      if (execAs !== undefined) Object.assign(action, execAs);
      return;
    }
    const account = accountOf(action.user, action.group);
    if (typeof account !== 'string') return;
    const at = [...(isSeq(node) ? [index] : []), account.startsWith('unknown group') ? 'group' : 'user'];
    ctx.reader.report(nodeAt(ctx.reader, node, at), [...path, ...at], account);
    accountsOk = false;
  });
  return accountsOk;
}

/** Reports a `restart` among `list` when the target has no run: (nothing to restart it with). */
function restartWithoutRun(
  ctx: ParseContext,
  list: readonly { kind: string }[],
  node: Node,
  path: KeyPath,
  hasRun: boolean,
): boolean {
  const restartIndex = list.findIndex((action) => action.kind === 'restart');
  if (restartIndex === -1 || hasRun) return false;
  const at = isSeq(node) ? [restartIndex] : [];
  ctx.reader.report(
    nodeAt(ctx.reader, node, at),
    [...path, ...at],
    'restart applies only to a target memwarden starts itself (add run: [argv] to the target)',
  );
  return true;
}

/** `scope` is the rule's `scope:` key: `group` reads `pss`, `limit%` as the whole target's. */
export function parseConditionAt(
  ctx: ParseContext,
  node: Node,
  path: KeyPath,
  scope?: RuleScope,
): Condition | undefined {
  const source = ctx.reader.string(node, path, 'a condition such as rss > 500MB for 3m');
  if (source === undefined) return undefined;
  try {
    return parseCondition(source, {
      cpuCount: ctx.options.cpuCount ?? availableParallelism(),
      ...(scope === undefined ? {} : { scope }),
    });
  } catch (err) {
    if (!(err instanceof RuleParseError)) throw err;
    const offset = ruleOffset(ctx.text, node, source, err.column);
    ctx.reader.reportAt(offset, path, `${err.reason} (in '${source}' at column ${err.column})`);
    return undefined;
  }
}

export function parseStepsAt(ctx: ParseContext, node: Node, path: KeyPath): EscalationStep[] | undefined {
  return specList(ctx, node, path, parseEscalation);
}
