import { constants } from 'node:os';
import { MemwardenError } from '../errors.js';
import { didYouMean, parseDuration } from '../units/index.js';

/** What a rule asks for. Only the description: carrying it out is the actions part's job. */
export type ActionSpec =
  | { kind: 'log' }
  | { kind: 'gc' }
  | { kind: 'snapshot' }
  | { kind: 'trim' }
  | { kind: 'restart' }
  | { kind: 'signal'; signal: NodeJS.Signals }
  | {
      kind: 'exec';
      /** argv[0] is the program; placeholders (EXEC_PLACEHOLDERS) are filled in per element. */
      argv: string[];
      timeoutMs: number;
      /** Per stream; default: the action runner's cap. */
      maxOutputBytes?: number;
      /**
       * Who the command runs as (a name or uid), and optionally with which group (else the
       * user's primary group); from the action or its target. memwarden's own user when absent.
       */
      user?: string;
      group?: string;
      /** The directory it runs in, where a relative argv[0] is found: its target's `cwd`. */
      cwd?: string;
    }
  | {
      kind: 'webhook';
      /** http: or https: only. */
      url: string;
      /** Per request, not for all attempts together. */
      timeoutMs: number;
      /** Attempts after the first; default: the action runner's. */
      retries?: number;
      headers?: Record<string, string>;
    };

export type ActionKind = ActionSpec['kind'];

/** An escalation chain's pause between steps (the grammar and runner live in actions/escalation). */
export interface WaitStep {
  kind: 'wait';
  durationMs: number;
}

/** One step of a rule's `escalate:` chain: an action, or a wait. */
export type EscalationStep = ActionSpec | WaitStep;

/** Actions that can end or disturb a process; at most one of them reaches a process per cycle. */
export const DESTRUCTIVE_ACTIONS: ReadonlySet<ActionKind> = new Set(['signal', 'restart', 'exec']);

export const DEFAULT_EXEC_TIMEOUT_MS = 10_000;
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5_000;

export const EXEC_PLACEHOLDERS = ['pid', 'name', 'rss', 'target', 'rule'] as const;
export type ExecPlaceholder = (typeof EXEC_PLACEHOLDERS)[number];

const PLAIN_ACTIONS = ['log', 'gc', 'snapshot', 'trim', 'restart'] as const;
const ALL_ACTIONS = [...PLAIN_ACTIONS, 'signal', 'exec', 'webhook'];

/**
 * An action that does not parse. `path` leads from the action's own value to the part that is
 * wrong (`['exec', 2]`), so the config loader can point at the exact YAML node.
 */
export class ActionSpecError extends MemwardenError {
  constructor(
    readonly path: readonly (string | number)[],
    readonly reason: string,
  ) {
    super('MW_CONFIG', reason);
  }
}

function fail(path: readonly (string | number)[], reason: string): never {
  throw new ActionSpecError(path, reason);
}

function parseSignal(text: string, path: readonly (string | number)[]): ActionSpec {
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const signals = constants.signals as Readonly<Record<string, number>>;
  const number = signals[name];
  if (number === undefined) {
    fail(path, `unknown signal '${text}'${didYouMean(name, Object.keys(signals))}`);
  }
  return { kind: 'signal', signal: name as NodeJS.Signals };
}

function parseWebhookUrl(text: string, path: readonly (string | number)[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail(path, `invalid webhook URL '${text}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    fail(path, `webhook URL must be http or https, not ${url.protocol.replace(/:$/, '')}`);
  }
  return url.href;
}

function parseTimeout(value: unknown, path: readonly (string | number)[]): number {
  if (typeof value !== 'string') fail(path, 'expected a duration such as 10s');
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    fail(path, err instanceof Error ? err.message : String(err));
  }
  if (ms <= 0) fail(path, 'expected a duration longer than 0, such as 10s');
  return ms;
}

/**
 * Scans `{pid}`-style placeholders. `{{` stands for a literal `{` so that argv such as awk
 * programs can still be written.
 */
function scanPlaceholders(arg: string, onPlaceholder: (name: string) => string): string {
  let out = '';
  let i = 0;
  while (i < arg.length) {
    const c = arg[i];
    if (c !== '{') {
      out += c;
      i++;
      continue;
    }
    if (arg[i + 1] === '{') {
      out += '{';
      i += 2;
      continue;
    }
    const close = arg.indexOf('}', i + 1);
    if (close === -1) {
      out += c;
      i++;
      continue;
    }
    out += onPlaceholder(arg.slice(i + 1, close));
    i = close + 1;
  }
  return out;
}

function isPlaceholder(name: string): name is ExecPlaceholder {
  return (EXEC_PLACEHOLDERS as readonly string[]).includes(name);
}

function parseArgv(value: unknown, path: readonly (string | number)[]): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    fail(path, 'expected an argv list such as [/usr/local/bin/notify, "{pid}"] (never a shell string)');
  }
  return value.map((item: unknown, index) => {
    const itemPath = [...path, index];
    if (typeof item === 'number' && Number.isFinite(item)) return String(item);
    if (typeof item !== 'string') fail(itemPath, 'expected a string argument');
    if (index === 0 && item === '') fail(itemPath, 'the command must not be empty');
    scanPlaceholders(item, (name) => {
      if (!isPlaceholder(name)) {
        fail(
          itemPath,
          `unknown placeholder '{${name}}'${didYouMean(name, EXEC_PLACEHOLDERS)}; known: ${EXEC_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')} (write {{ for a literal brace)`,
        );
      }
      return '';
    });
    return item;
  });
}

function parseActionText(text: string): ActionSpec {
  const trimmed = text.trim();
  const space = trimmed.search(/\s/);
  const word = space === -1 ? trimmed : trimmed.slice(0, space);
  const rest = space === -1 ? '' : trimmed.slice(space).trim();
  switch (word) {
    case 'log':
    case 'gc':
    case 'snapshot':
    case 'trim':
    case 'restart':
      if (rest !== '') fail([], `'${word}' takes no argument`);
      return { kind: word };
    case 'signal':
      if (rest === '' || /\s/.test(rest)) fail([], "expected one signal name, e.g. 'signal SIGUSR2'");
      return parseSignal(rest, []);
    case 'webhook':
      if (rest === '' || /\s/.test(rest))
        fail([], "expected one URL, e.g. 'webhook https://example.org/hook'");
      return { kind: 'webhook', url: parseWebhookUrl(rest, []), timeoutMs: DEFAULT_WEBHOOK_TIMEOUT_MS };
    case 'exec':
      return fail(
        [],
        'exec takes an argv list, never a shell string: {exec: [cmd, arg, "{pid}"], timeout: 10s}',
      );
    default:
      fail(
        [],
        `unknown action '${word}'${didYouMean(word, ALL_ACTIONS)}; expected one of ${ALL_ACTIONS.join(', ')}`,
      );
  }
}

const OBJECT_KEYS: Readonly<Record<string, readonly string[]>> = {
  exec: ['exec', 'timeout', 'user', 'group'],
  webhook: ['webhook', 'timeout'],
  signal: ['signal'],
};

function parseActionObject(value: Record<string, unknown>): ActionSpec {
  const kind = Object.keys(value).find((key) => Object.hasOwn(OBJECT_KEYS, key));
  if (kind === undefined) {
    fail([], `expected an action: one of ${ALL_ACTIONS.join(', ')}, or {exec: [argv], timeout: 10s}`);
  }
  const allowed = OBJECT_KEYS[kind] ?? [];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      fail([key], `unknown key '${key}' in ${kind} action${didYouMean(key, allowed)}`);
  }
  switch (kind) {
    case 'exec': {
      const timeoutMs =
        value.timeout === undefined ? DEFAULT_EXEC_TIMEOUT_MS : parseTimeout(value.timeout, ['timeout']);
      const spec: ActionSpec = { kind: 'exec', argv: parseArgv(value.exec, ['exec']), timeoutMs };
      for (const key of ['user', 'group'] as const) {
        const name = value[key];
        if (name === undefined) continue;
        if (typeof name !== 'string' && typeof name !== 'number')
          fail([key], `expected a ${key} name or number`);
        spec[key] = String(name);
      }
      if (spec.group !== undefined && spec.user === undefined)
        fail(['group'], 'group: needs user: as well (the user the command runs as)');
      return spec;
    }
    case 'webhook': {
      if (typeof value.webhook !== 'string') fail(['webhook'], 'expected an http(s) URL');
      const timeoutMs =
        value.timeout === undefined ? DEFAULT_WEBHOOK_TIMEOUT_MS : parseTimeout(value.timeout, ['timeout']);
      return { kind: 'webhook', url: parseWebhookUrl(value.webhook, ['webhook']), timeoutMs };
    }
    default:
      if (typeof value.signal !== 'string') fail(['signal'], 'expected a signal name such as SIGUSR2');
      return parseSignal(value.signal, ['signal']);
  }
}

/**
 * One entry of a rule's `do:` list, as plain data: `'gc'`, `'signal SIGUSR2'`,
 * `'webhook https://…'`, or `{exec: [argv…], timeout: '10s'}`. Throws ActionSpecError.
 */
export function parseAction(value: unknown): ActionSpec {
  if (typeof value === 'string') return parseActionText(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return parseActionObject(value as Record<string, unknown>);
  }
  fail([], `expected an action: one of ${ALL_ACTIONS.join(', ')}`);
}

/** A rule's whole `do:` value: one action or a list of them. */
export function parseActions(value: unknown): ActionSpec[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) fail([], 'expected at least one action, e.g. [log]');
  const actions = list.map((item, index) => {
    try {
      return parseAction(item);
    } catch (err) {
      if (err instanceof ActionSpecError && Array.isArray(value))
        throw new ActionSpecError([index, ...err.path], err.reason);
      throw err;
    }
  });
  const destructive = actions.filter((a) => DESTRUCTIVE_ACTIONS.has(a.kind));
  if (destructive.length > 1) {
    fail(
      [],
      `at most one of signal, restart, exec per rule (found ${destructive.map((a) => a.kind).join(', ')})`,
    );
  }
  return actions;
}

export interface ExecValues {
  pid: number;
  name: string;
  rss?: number;
  target: string;
  rule: string;
}

/** The argv an exec action runs for one process: placeholders filled in, `{{` unescaped. */
export function renderExecArgv(argv: readonly string[], values: ExecValues): string[] {
  return argv.map((arg) =>
    scanPlaceholders(arg, (name) => {
      switch (name) {
        case 'pid':
          return String(values.pid);
        case 'name':
          return values.name;
        case 'rss':
          return values.rss === undefined ? '' : String(values.rss);
        case 'target':
          return values.target;
        case 'rule':
          return values.rule;
        default:
          return `{${name}}`;
      }
    }),
  );
}
