import { dirname, resolve } from 'node:path';
import { isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import { uidOf } from '../proc/index.js';
import { findOverlaps } from '../rules/index.js';
import type { ParseContext } from './context.js';
import { parseGuardSection } from './guard.js';
import type { ConfigIssue, KeyPath } from './issues.js';
import { parseListenSection } from './listen.js';
import { parseNotifySection } from './notify.js';
import { filePath } from './paths.js';
import { ConfigReader, type Entry } from './reader.js';
import { parseConditionAt, parseStepsAt } from './rules.js';
import { parseMatch, parseTargets } from './targets.js';
import {
  DEFAULT_INTERVAL_MS,
  DEFAULT_LOG_MAX_SIZE_BYTES,
  DEFAULT_RETAIN_MS,
  type LoadConfigOptions,
  MIN_INTERVAL_MS,
  type WatchConfig,
} from './types.js';

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

class ConfigParser implements ParseContext {
  readonly reader: ConfigReader;
  readonly dir: string;
  readonly ruleNodes = new Map<string, Node>();
  private readonly root: Node | undefined;
  private readonly syntaxErrors: number;

  constructor(
    readonly text: string,
    file: string,
    readonly options: LoadConfigOptions,
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
    const log = parseLog(this, top.get('log'));
    const store = parseStore(this, top.get('store'));
    const listen = parseListenSection(this, top.get('listen'));
    const probeUids = probeUsers(this, top.get('probe_users'));
    const guard = parseGuardSection(r, top.get('guard'), {
      match: (node, path) => parseMatch(this, node, path),
      condition: (node, path) => parseConditionAt(this, node, path),
      steps: (node, path) => parseStepsAt(this, node, path),
    });
    const notify = parseNotifySection(r, top.get('notify'));
    // A file with only a guard watches no targets.
    const targets =
      top.has('guard') && !top.has('targets')
        ? []
        : parseTargets(this, r.required(top, 'targets', this.root, [], 'a list of targets'));
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
}

function probeUsers(ctx: ParseContext, entry: Entry | undefined): number[] | undefined {
  if (entry === undefined) return undefined;
  const names = ctx.reader.stringList(entry.value, ['probe_users'], 'a user name or uid', entry.key);
  if (names === undefined) return undefined;
  const uids: number[] = [];
  for (const name of names) {
    const uid = uidOf(name);
    if (uid === undefined) ctx.reader.report(entry.value, ['probe_users'], `unknown user '${name}'`);
    else uids.push(uid);
  }
  return uids;
}

function parseLog(ctx: ParseContext, entry: Entry | undefined): WatchConfig['log'] {
  if (entry === undefined) return undefined;
  const r = ctx.reader;
  if (isScalar(entry.value)) {
    const path = filePath(ctx, entry.value, ['log'], 'log file', entry.key);
    return path === undefined ? undefined : { path, maxSizeBytes: DEFAULT_LOG_MAX_SIZE_BYTES };
  }
  const fields = r.map(entry.value, ['log'], LOG_KEYS, entry.key);
  if (fields === undefined) return undefined;
  const pathNode = r.required(fields, 'path', entry.value, ['log'], 'a file path');
  const path = pathNode === undefined ? undefined : filePath(ctx, pathNode, ['log', 'path'], 'log file');
  const maxSize = fields.get('max_size');
  const maxSizeBytes =
    maxSize === undefined
      ? DEFAULT_LOG_MAX_SIZE_BYTES
      : r.size(maxSize.value, ['log', 'max_size'], '10MB', maxSize.key);
  return path === undefined || maxSizeBytes === undefined ? undefined : { path, maxSizeBytes };
}

function parseStore(ctx: ParseContext, entry: Entry | undefined): WatchConfig['store'] | undefined {
  if (entry === undefined) return undefined;
  const r = ctx.reader;
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
  const file = filePath(ctx, node, path, 'history database', entry.key);
  return file === undefined ? undefined : { enabled: true, path: file };
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
