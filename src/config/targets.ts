import { resolve } from 'node:path';
import { isScalar, isSeq, type Node } from 'yaml';
import { accountOf } from '../proc/index.js';
import { compileRegex, type ProcessFilter } from '../select/index.js';
import type { ParseContext } from './context.js';
import type { KeyPath } from './issues.js';
import { directory } from './paths.js';
import type { Entry } from './reader.js';
import { parseRestart } from './restart.js';
import { parseRules } from './rules.js';
import { DEFAULT_RESTART_POLICY, type ExecAs, type TargetConfig } from './types.js';

const TARGET_KEYS = ['name', 'match', 'run', 'cwd', 'restart', 'rules', 'user', 'group'];

type ListKey =
  | 'substrings'
  | 'regexes'
  | 'globs'
  | 'names'
  | 'pids'
  | 'pidfiles'
  | 'users'
  | 'cgroups'
  | 'units'
  | 'containers';
type FlagKey = 'children' | 'includeStopped' | 'all';

/** Singular and plural spellings both work; `pattern` is a substring, as for `memwarden ps`. */
const MATCH_LISTS: Readonly<Record<string, ListKey>> = {
  substring: 'substrings',
  substrings: 'substrings',
  pattern: 'substrings',
  patterns: 'substrings',
  regex: 'regexes',
  regexes: 'regexes',
  glob: 'globs',
  globs: 'globs',
  name: 'names',
  names: 'names',
  pid: 'pids',
  pids: 'pids',
  pidfile: 'pidfiles',
  pidfiles: 'pidfiles',
  user: 'users',
  users: 'users',
  cgroup: 'cgroups',
  cgroups: 'cgroups',
  unit: 'units',
  units: 'units',
  container: 'containers',
  containers: 'containers',
};
const MATCH_FLAGS: Readonly<Record<string, FlagKey>> = {
  children: 'children',
  include_stopped: 'includeStopped',
  all: 'all',
};
const MATCH_KEYS = [...Object.keys(MATCH_LISTS), ...Object.keys(MATCH_FLAGS)];

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function parseTargets(ctx: ParseContext, node: Node | undefined): TargetConfig[] | undefined {
  if (node === undefined) return undefined;
  if (!isSeq(node) || node.items.length === 0) {
    ctx.reader.report(node, ['targets'], 'expected a list of targets, each with a name and a match');
    return undefined;
  }
  const names = new Set<string>();
  const targets: TargetConfig[] = [];
  node.items.forEach((item, index) => {
    const target = parseTarget(ctx, ctx.reader.resolve(item), ['targets', index], names, node);
    if (target !== undefined) targets.push(target);
  });
  return targets.length === node.items.length ? targets : undefined;
}

function parseTarget(
  ctx: ParseContext,
  node: Node | undefined,
  path: KeyPath,
  names: Set<string>,
  list: Node,
): TargetConfig | undefined {
  const r = ctx.reader;
  const fields = r.map(node, path, TARGET_KEYS, node ?? list);
  if (fields === undefined) return undefined;
  const nameNode = r.required(fields, 'name', node, path, 'a name such as crawler');
  let name =
    nameNode === undefined ? undefined : r.string(nameNode, [...path, 'name'], 'a name such as crawler');
  if (name !== undefined && !TARGET_NAME.test(name)) {
    r.report(nameNode, [...path, 'name'], `'${name}' is not a name: use letters, digits, '_', '.', '-'`);
    name = undefined;
  } else if (name !== undefined && names.has(name)) {
    r.report(nameNode, [...path, 'name'], `another target is already named '${name}'`);
    name = undefined;
  }
  if (name !== undefined) names.add(name);

  const match = parseMatch(ctx, r.required(fields, 'match', node, path, 'what to match'), [...path, 'match']);
  const runEntry = fields.get('run');
  let run: string[] | undefined;
  if (runEntry !== undefined) {
    if (isSeq(runEntry.value)) run = r.stringList(runEntry.value, [...path, 'run'], 'an argument');
    else
      r.report(
        runEntry.value ?? runEntry.key,
        [...path, 'run'],
        'expected an argv list such as [node, server.js] (never a shell string)',
      );
  }
  const restart = parseRestart(ctx, fields.get('restart'), [...path, 'restart'], runEntry !== undefined);
  const execAs = parseExecAs(ctx, fields, path);
  const rules = parseRules(
    ctx,
    fields.get('rules'),
    [...path, 'rules'],
    name ?? '',
    runEntry !== undefined,
    execAs,
  );
  if (
    execAs === null ||
    name === undefined ||
    match === undefined ||
    rules === undefined ||
    (runEntry !== undefined && run === undefined)
  ) {
    return undefined;
  }
  const cwdEntry = fields.get('cwd');
  const cwd = cwdEntry === undefined ? ctx.dir : directory(ctx, cwdEntry, [...path, 'cwd']);
  if (cwd === undefined) return undefined;
  // Relative paths in exec: are the target's, as those in run: are.
  for (const rule of rules) for (const action of rule.actions) if (action.kind === 'exec') action.cwd = cwd;
  const target: TargetConfig = { name, match, cwd, rules };
  if (run !== undefined) {
    target.run = run;
    target.restart = restart ?? { ...DEFAULT_RESTART_POLICY };
  }
  return target;
}

/**
 * A target's `user:` and `group:`, which its exec actions run as unless they name their own;
 * undefined when absent, null when wrong (reported).
 */
function parseExecAs(
  ctx: ParseContext,
  fields: Map<string, Entry>,
  path: KeyPath,
): ExecAs | undefined | null {
  const r = ctx.reader;
  const read = (key: 'user' | 'group') => {
    const entry = fields.get(key);
    if (entry === undefined) return undefined;
    const value = r.toJS(entry.value ?? entry.key);
    if (typeof value === 'string' || typeof value === 'number') return { value: String(value), entry };
    r.report(entry.value ?? entry.key, [...path, key], `expected a ${key} name or number`);
    return null;
  };
  const user = read('user');
  const group = read('group');
  if (user === null || group === null) return null;
  if (user === undefined) {
    if (group === undefined) return undefined;
    r.report(
      group.entry.key,
      [...path, 'group'],
      'group: needs user: as well (the user exec commands run as)',
    );
    return null;
  }
  const account = accountOf(user.value, group?.value);
  if (typeof account === 'string') {
    const wrong = account.startsWith('unknown group') && group ? group : user;
    r.report(wrong.entry.value ?? wrong.entry.key, [...path, wrong === user ? 'user' : 'group'], account);
    return null;
  }
  return group === undefined ? { user: user.value } : { user: user.value, group: group.value };
}

export function parseMatch(
  ctx: ParseContext,
  node: Node | undefined,
  path: KeyPath,
): ProcessFilter | undefined {
  if (node === undefined) return undefined;
  const r = ctx.reader;
  if (isScalar(node)) {
    const substring = r.string(
      node,
      path,
      'a substring of the command line, or a mapping such as {regex: …}',
    );
    return substring === undefined ? undefined : { substrings: [substring] };
  }
  const fields = r.map(node, path, MATCH_KEYS);
  if (fields === undefined) return undefined;
  const filter: ProcessFilter = {};
  let ok = true;
  for (const [key, entry] of fields) {
    const keyPath = [...path, key];
    const flag = MATCH_FLAGS[key];
    if (flag !== undefined) {
      const value = r.boolean(entry.value, keyPath, entry.key);
      if (value === undefined) ok = false;
      else filter[flag] = value;
      continue;
    }
    const list = MATCH_LISTS[key];
    if (list === undefined) continue;
    const values = matchValues(ctx, list, entry, keyPath);
    if (values === undefined) {
      ok = false;
      continue;
    }
    if (list === 'pids') filter.pids = [...(filter.pids ?? []), ...values.map(Number)];
    else filter[list] = [...(filter[list] ?? []), ...values];
  }
  const selects =
    Object.values(MATCH_LISTS).some((list) => filter[list] !== undefined) || filter.all === true;
  if (ok && !selects) {
    r.report(
      node,
      path,
      'match needs at least one of pattern, regex, glob, name, pid, pidfile, user, cgroup, unit, container (or their plurals), or all: true',
    );
    return undefined;
  }
  return ok ? filter : undefined;
}

function matchValues(ctx: ParseContext, list: ListKey, entry: Entry, path: KeyPath): string[] | undefined {
  const r = ctx.reader;
  const what: Record<ListKey, string> = {
    substrings: 'a substring of the command line',
    regexes: 'a regular expression',
    globs: 'a glob such as *worker*',
    names: 'an executable name',
    pids: 'a process id',
    pidfiles: 'the path of a pid file',
    users: 'a user name or uid',
    cgroups: 'a cgroup path such as /system.slice/redis-server.service',
    units: 'a systemd unit such as redis-server.service',
    containers: 'a container id or id prefix',
  };
  const values = r.stringList(entry.value, path, what[list], entry.key);
  if (values === undefined) return undefined;
  const items = isSeq(entry.value) ? entry.value.items : [entry.value];
  let ok = true;
  values.forEach((value, index) => {
    const node = r.resolve(items[index]) ?? entry.key;
    const itemPath = isSeq(entry.value) ? [...path, index] : path;
    if (list === 'pids' && !/^[1-9]\d{0,9}$/.test(value)) {
      r.report(node, itemPath, `expected a process id (a positive whole number), found '${value}'`);
      ok = false;
    }
    if (list === 'containers' && !/^[0-9a-f]{1,64}$/i.test(value)) {
      r.report(node, itemPath, `expected a container id or id prefix (hex digits), found '${value}'`);
      ok = false;
    }
    if (list === 'regexes') {
      try {
        compileRegex(value, 'regular expression');
      } catch (err) {
        r.report(node, itemPath, err instanceof Error ? err.message : String(err));
        ok = false;
      }
    }
  });
  if (!ok) return undefined;
  return list === 'pidfiles' ? values.map((file) => resolve(ctx.dir, file)) : values;
}
