import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { type NotifyConfig, parseEscalation } from '../actions/index.js';
import { errnoCode, MemwardenError } from '../errors.js';
import { accountOf, uidOf } from '../proc/index.js';
import {
  type ActionSpec,
  ActionSpecError,
  type Condition,
  DEFAULT_COOLDOWN_MS,
  type EscalationStep,
  findOverlaps,
  parseActions,
  parseCondition,
  RuleParseError,
  type RuleSpec,
} from '../rules/index.js';
import { compileRegex, type ProcessFilter } from '../select/index.js';
import { parseListen } from '../units/index.js';
import { ConfigError, type ConfigIssue, type KeyPath } from './config-issues.js';
import { ConfigReader, type Entry } from './config-reader.js';
import { configFileInsecurity } from './config-security.js';
import { type GuardConfig, parseGuardSection } from './guard-config.js';
import { parseNotifySection } from './notify-config.js';

export { ConfigError, type ConfigIssue, formatIssue } from './config-issues.js';

export interface RestartPolicy {
  /** Give up after this many restarts within `withinMs`. */
  max: number;
  withinMs: number;
  /** Wait before the first restart; the actions part decides how it grows. */
  backoffMs: number;
  /** A process that ran this long started well: the restarts counted before are forgotten. */
  startSecsMs: number;
}

/** Who a target's exec commands run as (names or numbers, checked against /etc/passwd at load). */
interface ExecAs {
  user: string;
  group?: string;
}

export interface TargetConfig {
  name: string;
  match: ProcessFilter;
  /**
   * The directory its `run:` process and its rules' exec commands run in, where their relative
   * paths are found: `cwd:` from the config file's directory, by default that directory
   * (memwarden's own when absent, as in quick mode).
   */
  cwd?: string;
  /** argv of a process memwarden starts and supervises itself. */
  run?: string[];
  restart?: RestartPolicy;
  rules: RuleSpec[];
}

export interface WatchConfig {
  /** Absolute path of the file this came from. */
  file: string;
  intervalMs: number;
  retainMs: number;
  log?: { path: string; maxSizeBytes: number };
  /** `enabled` without `path`: the store picks its default location. */
  store: { enabled: boolean; path?: string };
  listen?: { host: string; port: number };
  /**
   * The uids whose processes the gc, snapshot and trim actions may open up (an inspector, an
   * injection); absent means only memwarden's own uid, or any when it runs as root.
   */
  probeUids?: number[];
  targets: TargetConfig[];
  /** Every target's rules in file order, which is also their order of precedence. */
  rules: RuleSpec[];
  /** Things worth saying that do not stop the config from loading (overlapping rules). */
  warnings: ConfigIssue[];
  /** The `guard:` section: acting before the kernel's OOM killer does. */
  guard?: GuardConfig;
  /** The `notify:` section: Slack, ntfy, e-mail, desktop. */
  notify?: NotifyConfig;
}

export interface LoadConfigOptions {
  /** Use a config file that others could have written (`--allow-insecure-config`). */
  allowInsecure?: boolean;
  /** CPUs to check `cpu%` thresholds against; default: this host's. */
  cpuCount?: number;
  /** The uid memwarden runs as; default: the process's. Root is held to the file checks. */
  uid?: number;
}

export const DEFAULT_INTERVAL_MS = 10_000;
/** Below this a sweep of /proc would be most of the machine's work. */
export const MIN_INTERVAL_MS = 100;
export const DEFAULT_RETAIN_MS = 7 * 86_400_000;
export const DEFAULT_LOG_MAX_SIZE_BYTES = 10_000_000;
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  max: 5,
  withinMs: 10 * 60_000,
  backoffMs: 1000,
  startSecsMs: 1000,
};

const TOP_KEYS = [
  'interval',
  'log',
  'store',
  'retain',
  'listen',
  'probe_users',
  'targets',
  'guard',
  'notify',
];
const LOG_KEYS = ['path', 'max_size'];
const STORE_KEYS = ['path'];
const TARGET_KEYS = ['name', 'match', 'run', 'cwd', 'restart', 'rules', 'user', 'group'];
const RESTART_KEYS = ['max', 'within', 'backoff', 'startsecs'];
const RULE_KEYS = ['when', 'do', 'escalate', 'cooldown'];

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

/** The node an ActionSpecError's path leads to, as far as the YAML goes. */
function nodeAt(reader: ConfigReader, node: Node, path: readonly (string | number)[]): Node {
  let current = node;
  for (const step of path) {
    let next: unknown;
    if (typeof step === 'number') next = isSeq(current) ? current.items[step] : undefined;
    else next = isMap(current) ? current.get(step, true) : undefined;
    const resolved = reader.resolve(next);
    if (resolved === undefined) break;
    current = resolved;
  }
  return current;
}

class ConfigParser {
  private readonly reader: ConfigReader;
  private readonly dir: string;
  private readonly ruleNodes = new Map<string, Node>();
  private readonly root: Node | undefined;
  private readonly syntaxErrors: number;

  constructor(
    private readonly text: string,
    file: string,
    private readonly options: LoadConfigOptions,
  ) {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false });
    this.reader = new ConfigReader(file, doc, lineCounter);
    this.dir = dirname(resolve(file));
    for (const err of doc.errors) this.reader.reportAt(err.pos[0], [], `YAML syntax: ${err.message}`);
    this.syntaxErrors = this.reader.issues.length;
    this.root = this.reader.resolve(doc.contents);
  }

  /**
   * What to show: on a line with a YAML syntax error, only its first syntax error — the parser's
   * follow-on complaints and the checks of a half-parsed value there would only be noise.
   */
  get issues(): ConfigIssue[] {
    const all = this.reader.issues;
    const syntaxLines = new Set(all.slice(0, this.syntaxErrors).map((issue) => issue.line));
    const shownSyntaxLines = new Set<number | undefined>();
    return all.filter((issue, index) => {
      if (!syntaxLines.has(issue.line)) return true;
      if (index >= this.syntaxErrors || shownSyntaxLines.has(issue.line)) return false;
      shownSyntaxLines.add(issue.line);
      return true;
    });
  }

  parse(file: string): WatchConfig | undefined {
    const r = this.reader;
    if (this.root === undefined) {
      r.reportAt(0, [], 'the file is empty: expected a mapping with at least targets');
      return undefined;
    }
    const top = r.map(this.root, [], TOP_KEYS);
    if (top === undefined) return undefined;
    const interval = top.get('interval');
    const intervalMs =
      interval === undefined
        ? DEFAULT_INTERVAL_MS
        : r.duration(interval.value, ['interval'], MIN_INTERVAL_MS, '10s', interval.key);
    const retain = top.get('retain');
    const retainMs =
      retain === undefined ? DEFAULT_RETAIN_MS : r.duration(retain.value, ['retain'], 1, '7d', retain.key);
    const log = this.log(top.get('log'));
    const store = this.store(top.get('store'));
    const listen = this.listen(top.get('listen'));
    const probeUids = this.probeUsers(top.get('probe_users'));
    const guard = parseGuardSection(r, top.get('guard'), {
      match: (node, path) => this.match(node, path),
      condition: (node, path) => this.condition(node, path),
      steps: (node, path) => this.steps(node, path),
    });
    const notify = parseNotifySection(r, top.get('notify'));
    // A file with only a guard watches no targets.
    const targets =
      top.has('guard') && !top.has('targets')
        ? []
        : this.targets(r.required(top, 'targets', this.root, [], 'a list of targets'));
    if (r.hasErrors || intervalMs === undefined || retainMs === undefined || targets === undefined)
      return undefined;

    const started = targets.filter((target) => target.run).map((target) => target.name);
    if (store?.enabled === false && started.length > 0) {
      r.report(
        top.get('store')?.value,
        ['store'],
        `targets with run: (${started.join(', ')}) keep their restart counters and the process they started in the history file: remove store: false`,
      );
      return undefined;
    }
    const rules = targets.flatMap((target) => target.rules);
    const filters = new Map(targets.map((target) => [target.name, target.match]));
    for (const overlap of findOverlaps(rules, filters)) {
      r.report(this.ruleNodes.get(overlap.second), [], overlap.message, 'warning');
    }
    const config: WatchConfig = {
      file: resolve(file),
      intervalMs,
      retainMs,
      store: store ?? { enabled: true },
      targets,
      rules,
      warnings: r.issues.filter((issue) => issue.severity === 'warning'),
    };
    if (log !== undefined) config.log = log;
    if (listen !== undefined) config.listen = listen;
    if (probeUids !== undefined) config.probeUids = probeUids;
    if (guard !== undefined) config.guard = guard;
    if (notify !== undefined) config.notify = notify;
    return config;
  }

  private probeUsers(entry: Entry | undefined): number[] | undefined {
    if (entry === undefined) return undefined;
    const names = this.reader.stringList(entry.value, ['probe_users'], 'a user name or uid', entry.key);
    if (names === undefined) return undefined;
    const uids: number[] = [];
    for (const name of names) {
      const uid = uidOf(name);
      if (uid === undefined) this.reader.report(entry.value, ['probe_users'], `unknown user '${name}'`);
      else uids.push(uid);
    }
    return uids;
  }

  /** A file path relative to the config file, whose directory must already exist. */
  private filePath(node: Node | undefined, path: KeyPath, what: string, at?: Node): string | undefined {
    const written = this.reader.string(node, path, `a file path for the ${what}`, at);
    if (written === undefined) return undefined;
    const absolute = resolve(this.dir, written);
    return this.existingDirectory(dirname(absolute), node, path, ` for the ${what}`) ? absolute : undefined;
  }

  /** A directory relative to the config file's, which must exist. */
  private directory(entry: Entry, path: KeyPath): string | undefined {
    const written = this.reader.string(entry.value, path, 'a directory', entry.key);
    if (written === undefined) return undefined;
    const absolute = resolve(this.dir, written);
    return this.existingDirectory(absolute, entry.value, path, '') ? absolute : undefined;
  }

  private existingDirectory(dir: string, node: Node | undefined, path: KeyPath, purpose: string): boolean {
    try {
      if (statSync(dir).isDirectory()) return true;
      this.reader.report(node, path, `${dir} is not a directory`);
    } catch (err) {
      const code = errnoCode(err);
      const why = code === 'ENOENT' ? 'does not exist' : `cannot be used (${code ?? String(err)})`;
      this.reader.report(node, path, `the directory ${dir}${purpose} ${why}`);
    }
    return false;
  }

  private log(entry: Entry | undefined): WatchConfig['log'] {
    if (entry === undefined) return undefined;
    const r = this.reader;
    if (isScalar(entry.value)) {
      const path = this.filePath(entry.value, ['log'], 'log file', entry.key);
      return path === undefined ? undefined : { path, maxSizeBytes: DEFAULT_LOG_MAX_SIZE_BYTES };
    }
    const fields = r.map(entry.value, ['log'], LOG_KEYS, entry.key);
    if (fields === undefined) return undefined;
    const pathNode = r.required(fields, 'path', entry.value, ['log'], 'a file path');
    const path = pathNode === undefined ? undefined : this.filePath(pathNode, ['log', 'path'], 'log file');
    const maxSize = fields.get('max_size');
    const maxSizeBytes =
      maxSize === undefined
        ? DEFAULT_LOG_MAX_SIZE_BYTES
        : r.size(maxSize.value, ['log', 'max_size'], '10MB', maxSize.key);
    return path === undefined || maxSizeBytes === undefined ? undefined : { path, maxSizeBytes };
  }

  private store(entry: Entry | undefined): WatchConfig['store'] | undefined {
    if (entry === undefined) return undefined;
    const r = this.reader;
    if (isScalar(entry.value) && entry.value.value === false) return { enabled: false };
    let node = entry.value;
    let path: KeyPath = ['store'];
    if (!isScalar(node)) {
      const fields = r.map(node, ['store'], STORE_KEYS, entry.key);
      if (fields === undefined) return undefined;
      node = r.required(fields, 'path', entry.value, ['store'], 'a file path for the history database');
      if (node === undefined) return undefined;
      path = ['store', 'path'];
    }
    const file = this.filePath(node, path, 'history database', entry.key);
    return file === undefined ? undefined : { enabled: true, path: file };
  }

  private listen(entry: Entry | undefined): WatchConfig['listen'] {
    if (entry === undefined) return undefined;
    const node = entry.value;
    const expected = 'an address such as 127.0.0.1:9464, or a port';
    if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
      this.reader.report(node ?? entry.key, ['listen'], `expected ${expected}`);
      return undefined;
    }
    try {
      return parseListen(String(node.value));
    } catch (err) {
      if (!(err instanceof MemwardenError)) throw err;
      this.reader.report(node, ['listen'], err.message);
      return undefined;
    }
  }

  private targets(node: Node | undefined): TargetConfig[] | undefined {
    if (node === undefined) return undefined;
    if (!isSeq(node) || node.items.length === 0) {
      this.reader.report(node, ['targets'], 'expected a list of targets, each with a name and a match');
      return undefined;
    }
    const names = new Set<string>();
    const targets: TargetConfig[] = [];
    node.items.forEach((item, index) => {
      const target = this.target(this.reader.resolve(item), ['targets', index], names, node);
      if (target !== undefined) targets.push(target);
    });
    return targets.length === node.items.length ? targets : undefined;
  }

  private target(
    node: Node | undefined,
    path: KeyPath,
    names: Set<string>,
    list: Node,
  ): TargetConfig | undefined {
    const r = this.reader;
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

    const match = this.match(r.required(fields, 'match', node, path, 'what to match'), [...path, 'match']);
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
    const restart = this.restart(fields.get('restart'), [...path, 'restart'], runEntry !== undefined);
    const execAs = this.execAs(fields, path);
    const rules = this.rules(
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
    const cwd = cwdEntry === undefined ? this.dir : this.directory(cwdEntry, [...path, 'cwd']);
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
  private execAs(fields: Map<string, Entry>, path: KeyPath): ExecAs | undefined | null {
    const r = this.reader;
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

  private match(node: Node | undefined, path: KeyPath): ProcessFilter | undefined {
    if (node === undefined) return undefined;
    const r = this.reader;
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
      const values = this.matchValues(list, entry, keyPath);
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

  private matchValues(list: ListKey, entry: Entry, path: KeyPath): string[] | undefined {
    const r = this.reader;
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
    return list === 'pidfiles' ? values.map((file) => resolve(this.dir, file)) : values;
  }

  private restart(entry: Entry | undefined, path: KeyPath, hasRun: boolean): RestartPolicy | undefined {
    if (entry === undefined) return undefined;
    const r = this.reader;
    if (!hasRun) {
      r.report(entry.key, path, 'restart applies only to a target memwarden starts itself (add run: [argv])');
      return undefined;
    }
    const fields = r.map(entry.value, path, RESTART_KEYS, entry.key);
    if (fields === undefined) return undefined;
    const policy = { ...DEFAULT_RESTART_POLICY };
    const max = fields.get('max');
    const within = fields.get('within');
    const backoff = fields.get('backoff');
    const startsecs = fields.get('startsecs');
    const maxValue =
      max === undefined
        ? policy.max
        : r.integer(max.value, [...path, 'max'], 1, 'a whole number of restarts, at least 1', max.key);
    const withinMs =
      within === undefined
        ? policy.withinMs
        : r.duration(within.value, [...path, 'within'], 1, '10m', within.key);
    const backoffMs =
      backoff === undefined
        ? policy.backoffMs
        : r.duration(backoff.value, [...path, 'backoff'], 0, '1s', backoff.key);
    const startSecsMs =
      startsecs === undefined
        ? policy.startSecsMs
        : r.duration(startsecs.value, [...path, 'startsecs'], 0, '1s', startsecs.key);
    if (
      maxValue === undefined ||
      withinMs === undefined ||
      backoffMs === undefined ||
      startSecsMs === undefined
    )
      return undefined;
    return { max: maxValue, withinMs, backoffMs, startSecsMs };
  }

  private rules(
    entry: Entry | undefined,
    path: KeyPath,
    target: string,
    hasRun: boolean,
    execAs: ExecAs | undefined | null,
  ): RuleSpec[] | undefined {
    if (entry === undefined || entry.value === undefined) return [];
    if (!isSeq(entry.value)) {
      this.reader.report(entry.value, path, 'expected a list of rules, each with when and do');
      return undefined;
    }
    const rules: RuleSpec[] = [];
    entry.value.items.forEach((item, index) => {
      const node = this.reader.resolve(item);
      const rule = this.rule(
        node ?? entry.key,
        [...path, index],
        `${target}#${index + 1}`,
        target,
        hasRun,
        execAs ?? undefined,
      );
      if (rule !== undefined) {
        rules.push(rule);
        if (node !== undefined) this.ruleNodes.set(rule.id, node);
      }
    });
    return rules.length === entry.value.items.length ? rules : undefined;
  }

  private rule(
    node: Node,
    path: KeyPath,
    id: string,
    target: string,
    hasRun: boolean,
    execAs: ExecAs | undefined,
  ): RuleSpec | undefined {
    const r = this.reader;
    const fields = r.map(node, path, RULE_KEYS);
    if (fields === undefined) return undefined;
    const whenNode = r.required(fields, 'when', node, path, 'a condition such as rss > 500MB for 3m');
    const when = whenNode === undefined ? undefined : this.condition(whenNode, [...path, 'when']);
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
        : this.actions(doNode, [...path, 'do'], hasRun, execAs);
    const escalate =
      escalateEntry === undefined
        ? undefined
        : this.escalation(escalateEntry.value ?? escalateEntry.key, [...path, 'escalate'], hasRun, execAs);
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

  private escalation(
    node: Node,
    path: KeyPath,
    hasRun: boolean,
    execAs: ExecAs | undefined,
  ): EscalationStep[] | undefined {
    let steps: EscalationStep[];
    try {
      steps = parseEscalation(this.reader.toJS(node));
    } catch (err) {
      if (!(err instanceof ActionSpecError)) throw err;
      this.reader.report(nodeAt(this.reader, node, err.path), [...path, ...err.path], err.reason);
      return undefined;
    }
    if (!this.execAccounts(steps, node, path, execAs)) return undefined;
    return this.restartWithoutRun(steps, node, path, hasRun) ? undefined : steps;
  }

  /**
   * Gives each exec action the account it runs as (its own user:/group:, else the rule's or
   * target's), reporting accounts that do not exist; false when one does not.
   */
  private execAccounts(
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
      this.reader.report(nodeAt(this.reader, node, at), [...path, ...at], account);
      accountsOk = false;
    });
    return accountsOk;
  }

  /** Reports a `restart` among `list` when the target has no run: (nothing to restart it with). */
  private restartWithoutRun(
    list: readonly { kind: string }[],
    node: Node,
    path: KeyPath,
    hasRun: boolean,
  ): boolean {
    const restartIndex = list.findIndex((action) => action.kind === 'restart');
    if (restartIndex === -1 || hasRun) return false;
    const at = isSeq(node) ? [restartIndex] : [];
    this.reader.report(
      nodeAt(this.reader, node, at),
      [...path, ...at],
      'restart applies only to a target memwarden starts itself (add run: [argv] to the target)',
    );
    return true;
  }

  private condition(node: Node, path: KeyPath): Condition | undefined {
    const source = this.reader.string(node, path, 'a condition such as rss > 500MB for 3m');
    if (source === undefined) return undefined;
    try {
      return parseCondition(source, { cpuCount: this.options.cpuCount ?? availableParallelism() });
    } catch (err) {
      if (!(err instanceof RuleParseError)) throw err;
      const offset = ruleOffset(this.text, node, source, err.column);
      this.reader.reportAt(offset, path, `${err.reason} (in '${source}' at column ${err.column})`);
      return undefined;
    }
  }

  private steps(node: Node, path: KeyPath): EscalationStep[] | undefined {
    try {
      return parseEscalation(this.reader.toJS(node));
    } catch (err) {
      if (!(err instanceof ActionSpecError)) throw err;
      this.reader.report(nodeAt(this.reader, node, err.path), [...path, ...err.path], err.reason);
      return undefined;
    }
  }

  private actions(
    node: Node,
    path: KeyPath,
    hasRun: boolean,
    execAs: ExecAs | undefined,
  ): ActionSpec[] | undefined {
    let actions: ActionSpec[];
    try {
      actions = parseActions(this.reader.toJS(node));
    } catch (err) {
      if (!(err instanceof ActionSpecError)) throw err;
      this.reader.report(nodeAt(this.reader, node, err.path), [...path, ...err.path], err.reason);
      return undefined;
    }
    if (!this.execAccounts(actions, node, path, execAs)) return undefined;
    return this.restartWithoutRun(actions, node, path, hasRun) ? undefined : actions;
  }
}

/**
 * Validates config text. Returns the config when there is no error, and every error and warning
 * found, each placed at its file:line:column. Checks the file system only for the directories
 * the log and the store would be written in.
 */
export function parseConfig(
  text: string,
  file: string,
  options: LoadConfigOptions = {},
): { config: WatchConfig | undefined; issues: ConfigIssue[] } {
  const parser = new ConfigParser(text, file, options);
  const config = parser.parse(file);
  const issues = [...parser.issues].sort(
    (a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
  return { config: issues.some((issue) => issue.severity === 'error') ? undefined : config, issues };
}

/**
 * Reads and validates a config file. Throws one ConfigError (MW_CONFIG, exit code 2) listing
 * every error, one per line; warnings come back in `config.warnings`. As root, a file others
 * could have written is refused unless `allowInsecure`: it holds commands memwarden will run.
 */
export async function loadConfig(path: string, options: LoadConfigOptions = {}): Promise<WatchConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      {
        severity: 'error',
        file: path,
        path: '',
        message: `cannot read the config file (${errnoCode(err) ?? String(err)})`,
      },
    ]);
  }
  if (!options.allowInsecure) {
    const problem = configFileInsecurity(path, options.uid ?? process.getuid?.() ?? -1);
    if (problem !== undefined) {
      throw new ConfigError([
        {
          severity: 'error',
          file: path,
          path: '',
          message: `${problem}; refusing it (--allow-insecure-config to use it anyway)`,
        },
      ]);
    }
  }
  const { config, issues } = parseConfig(text, path, options);
  if (config === undefined) throw new ConfigError(issues.filter((issue) => issue.severity === 'error'));
  return config;
}
