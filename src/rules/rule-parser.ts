import { isMemwardenError } from '../errors.js';
import { didYouMean, parseDuration, parsePercent, parseSize } from '../units/index.js';
import {
  type Clause,
  type CompareClause,
  type CompareOp,
  type Condition,
  GROUP_METRICS,
  type GroupMetric,
  MACHINE_METRICS,
  METRIC_UNITS,
  type Metric,
  type Persistence,
  type PressureMetric,
  pressureNames,
  type RuleScope,
  type ValueUnit,
} from './condition.js';
import { RuleParseError } from './rule-error.js';
import { type QuantityToken, type Token, tokenize } from './tokenizer.js';

export interface ParseConditionOptions {
  /** CPUs of the host: a `cpu%` threshold above `cpuCount × 100%` can never be reached. */
  cpuCount?: number;
  /**
   * `group` (a rule's `scope: group`) reads the plain names as the group's: `pss` is `total.pss`,
   * `limit%` is `total.limit%`, `cgroup.psi.some` is `total.psi.some`. Without it a rule is a
   * group rule when it names a group metric (`total.pss`, `count`, `memory.current`).
   */
  scope?: RuleScope;
}

/** What the plain names mean in a rule with `scope: group`. */
const IN_GROUP_SCOPE: Readonly<Record<string, GroupMetric>> = {
  rss: 'total.rss',
  pss: 'total.pss',
  uss: 'total.uss',
  'limit%': 'total.limit%',
  ...Object.fromEntries(
    pressureNames('cgroup.psi').map((name) => [name, `total.${name.slice('cgroup.'.length)}`]),
  ),
};

/** Kept small so that the per-rule hit window stays cheap. */
export const MAX_WITHIN_CYCLES = 1000;

const METRICS = Object.keys(METRIC_UNITS) as Metric[];
const FLAGS = ['leak', 'oom_killed'] as const;
const WORDS = [...METRICS, ...FLAGS];

function isMetric(word: string): word is Metric {
  return Object.hasOwn(METRIC_UNITS, word);
}

function example(metric: Metric): string {
  return metric.includes('psi.')
    ? 'a percentage such as 20%'
    : (EXAMPLES[metric as keyof typeof EXAMPLES] ?? '');
}

const EXAMPLES: Readonly<Record<Exclude<Metric, PressureMetric | `total.psi.${string}`>, string>> = {
  rss: 'a size with a unit such as 500MB',
  pss: 'a size with a unit such as 500MB',
  vms: 'a size with a unit such as 2GiB',
  available: 'a size with a unit such as 1GiB, or a percentage such as 5%',
  'mem%': 'a percentage such as 40%',
  'limit%': 'a percentage such as 90%',
  'cpu%': 'a percentage such as 80%',
  threads: 'a whole number such as 500',
  growth: 'a size per time such as 50MB/h',
  oom_in: 'a duration such as 2h',
  'total.rss': 'a size with a unit such as 2GB',
  'total.pss': 'a size with a unit such as 2GB',
  'total.uss': 'a size with a unit such as 2GB',
  count: 'a whole number such as 20',
  'memory.current': 'a size with a unit such as 2GB',
  'memory.max': 'a size with a unit such as 2GB',
  'total.limit%': 'a percentage such as 90%',
};

/**
 * Recursive descent over the grammar
 *
 *   condition   := all ('or' all)* persistence? END
 *   all         := clause ('and' clause)*
 *   clause      := 'leak' | 'oom_killed' | METRIC OP quantity ('over' DURATION)?
 *
 * A METRIC of the group (`total.pss`, `count`) makes the whole condition a group rule's.
 *   persistence := 'for' DURATION | INT 'times' 'within' INT 'cycles'
 *
 * `and` binds tighter than `or`, as everywhere. `over` belongs to `growth` alone; `for` and
 * `times within` apply to the whole condition, so they come last.
 */
class Parser {
  private position = 0;
  /** Each clause's first token, for errors about the clauses together. */
  private readonly starts: Token[] = [];

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
    private readonly options: ParseConditionOptions,
  ) {}

  private peek(): Token {
    return this.tokens[this.position] ?? this.tokens[this.tokens.length - 1]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.position++;
    return token;
  }

  private fail(token: Token, reason: string): never {
    throw new RuleParseError(this.source, token.column, reason);
  }

  private found(token: Token): string {
    return token.kind === 'end' ? 'the end of the rule' : `'${token.text}'`;
  }

  private isWord(token: Token, word: string): boolean {
    return token.kind === 'word' && token.text === word;
  }

  parse(): Condition {
    if (this.peek().kind === 'end') this.fail(this.peek(), 'expected a condition such as rss > 500MB');
    const clauses: Clause[] = [this.clause()];
    const or: number[] = [];
    for (;;) {
      if (this.isWord(this.peek(), 'and')) {
        this.next();
        clauses.push(this.clause());
      } else if (this.isWord(this.peek(), 'or')) {
        this.next();
        or.push(clauses.length);
        clauses.push(this.clause());
      } else break;
    }
    const persistence = this.persistence();
    const end = this.peek();
    if (end.kind !== 'end') {
      const expected =
        persistence.kind === 'immediate'
          ? "'and', 'or', 'for', 'N times within M cycles'"
          : 'the end of the rule';
      const hint =
        this.isWord(end, 'and') || this.isWord(end, 'or') ? " ('for' and 'times within' go at the end)" : '';
      this.fail(end, `expected ${expected}, found ${this.found(end)}${hint}`);
    }
    const group = this.checkScope(clauses);
    return {
      source: this.source,
      ...(group ? { scope: 'group' as const } : {}),
      clauses,
      ...(or.length > 0 ? { or } : {}),
      persistence,
    };
  }

  /**
   * A rule is about each process or about the group, never both: a condition that mixed them
   * would have no one subject to fire for. The machine's own measures fit either.
   */
  private checkScope(clauses: readonly Clause[]): boolean {
    const isGroup = (c: Clause) => c.kind === 'compare' && GROUP_METRICS.has(c.metric);
    const groupAt = clauses.findIndex(isGroup);
    if (this.options.scope === 'process' && groupAt >= 0) {
      const metric = (clauses[groupAt] as CompareClause).metric;
      this.fail(
        this.starts[groupAt] ?? this.peek(),
        `'${metric}' is about the whole group, and this rule has scope: process`,
      );
    }
    if (this.options.scope !== 'group' && groupAt < 0) return false;
    clauses.forEach((clause, i) => {
      if (isGroup(clause) || (clause.kind === 'compare' && MACHINE_METRICS.has(clause.metric))) return;
      const label = clause.kind === 'compare' ? clause.metric : clause.kind;
      const why =
        groupAt >= 0
          ? `'${label}' is about each process and '${(clauses[groupAt] as CompareClause).metric}' about the whole group: a rule is one or the other (split it in two)`
          : `'${label}' is about each process, not the group (scope: group); use total.rss, total.pss, total.uss, count, memory.current, memory.max, total.limit% or total.psi.some`;
      this.fail(this.starts[i] ?? this.peek(), why);
    });
    return true;
  }

  private clause(): Clause {
    const start = this.next();
    this.starts.push(start);
    if (start.kind !== 'word') {
      this.fail(start, `expected a metric (${WORDS.join(', ')}), found ${this.found(start)}`);
    }
    if (start.text === 'leak' || start.text === 'oom_killed') return { kind: start.text, text: start.text };
    const word = (this.options.scope === 'group' ? IN_GROUP_SCOPE[start.text] : undefined) ?? start.text;
    if (!isMetric(word)) {
      this.fail(
        start,
        `unknown metric '${start.text}'${didYouMean(start.text, WORDS)}; expected one of ${WORDS.join(', ')}`,
      );
    }
    const metric = word;
    const opToken = this.next();
    if (opToken.kind !== 'op')
      this.fail(opToken, `expected one of > >= < <= == after ${metric}, found ${this.found(opToken)}`);
    const op: CompareOp = opToken.text;
    const valueToken = this.next();
    if (valueToken.kind !== 'quantity')
      this.fail(valueToken, `expected ${example(metric)}, found ${this.found(valueToken)}`);
    // `available < 5%`: a share of the memory there is, not a size.
    const unit = metric === 'available' && valueToken.unit === '%' ? 'percent' : METRIC_UNITS[metric];
    const threshold = this.value(metric, valueToken, unit);
    let last: Token = valueToken;
    const clause: CompareClause = {
      kind: 'compare',
      metric,
      op,
      threshold,
      unit,
      text: '',
    };
    if (this.isWord(this.peek(), 'over')) {
      const overToken = this.next();
      if (metric !== 'growth') this.fail(overToken, "'over' applies only to growth");
      last = this.next();
      clause.overMs = this.duration(last, 'a window such as 1h after over');
    }
    this.checkReachable(clause, valueToken);
    clause.text = this.source.slice(start.column - 1, last.column - 1 + last.text.length);
    return clause;
  }

  private value(metric: Metric, token: QuantityToken, unit: ValueUnit): number {
    const expected = `expected ${example(metric)}`;
    if (unit === 'bytesPerSecond') {
      if (token.per === undefined) this.fail(token, expected);
      const bytes = this.convert(token, () => parseSize(`${token.number}${token.unit}`), expected);
      const perMs = this.convert(token, () => parseDuration(`1${token.per}`), expected);
      return (bytes * 1000) / perMs;
    }
    if (token.per !== undefined) this.fail(token, expected);
    switch (unit) {
      case 'bytes':
        if (token.unit === '%') this.fail(token, `${expected} (${metric} is a size; mem% is a percentage)`);
        return this.convert(token, () => parseSize(token.text), expected);
      case 'percent':
        return this.convert(token, () => parsePercent(token.text), expected);
      case 'seconds':
        return this.convert(token, () => parseDuration(token.text), expected) / 1000;
      case 'count':
        if (token.unit !== '' || !/^\d+$/.test(token.number)) this.fail(token, expected);
        return Number(token.number);
    }
  }

  private convert(token: Token, parse: () => number, expected: string): number {
    try {
      return parse();
    } catch (err) {
      if (isMemwardenError(err)) this.fail(token, expected);
      throw err;
    }
  }

  private duration(token: Token, what: string): number {
    if (token.kind !== 'quantity' || token.per !== undefined) this.fail(token, `expected ${what}`);
    const ms = this.convert(token, () => parseDuration(token.text), `expected ${what}`);
    if (ms <= 0) this.fail(token, `expected ${what}: it must be longer than 0`);
    return ms;
  }

  /** A threshold that can never be crossed is a mistake worth stopping for (scenario 1). */
  private checkReachable(clause: CompareClause, token: Token): void {
    if (clause.op !== '>' && clause.op !== '>=' && clause.op !== '==') return;
    let max: number | undefined;
    let why = '';
    if (clause.unit === 'percent' && clause.metric !== 'cpu%') {
      max = 100;
      why = `${clause.metric} is at most 100%`;
    } else if (clause.metric === 'cpu%' && this.options.cpuCount !== undefined) {
      max = this.options.cpuCount * 100;
      why = `cpu% is at most ${max}% on this host (${this.options.cpuCount} CPU${this.options.cpuCount === 1 ? '' : 's'}; 100% = one core)`;
    }
    if (max === undefined) return;
    const unreachable = clause.op === '>' ? clause.threshold >= max : clause.threshold > max;
    if (unreachable) this.fail(token, `${clause.threshold}% can never be reached: ${why}`);
  }

  private persistence(): Persistence {
    const token = this.peek();
    if (this.isWord(token, 'for')) {
      this.next();
      return { kind: 'for', durationMs: this.duration(this.next(), 'a duration such as 3m after for') };
    }
    if (token.kind === 'quantity') {
      this.next();
      const times = this.count(token, 'a number of times such as 3');
      this.expectWord('times');
      this.expectWord('within');
      const withinToken = this.next();
      const withinCycles = this.count(withinToken, 'a number of cycles such as 5');
      this.expectWord('cycles');
      if (withinCycles < times) {
        this.fail(withinToken, `${times} times cannot happen within ${withinCycles} cycles`);
      }
      if (withinCycles > MAX_WITHIN_CYCLES) {
        this.fail(withinToken, `at most ${MAX_WITHIN_CYCLES} cycles; use 'for DURATION' for longer spans`);
      }
      return { kind: 'count', times, withinCycles };
    }
    return { kind: 'immediate' };
  }

  private count(token: Token, what: string): number {
    if (
      token.kind !== 'quantity' ||
      token.unit !== '' ||
      token.per !== undefined ||
      !/^\d+$/.test(token.number)
    ) {
      this.fail(token, `expected ${what}`);
    }
    const value = Number(token.number);
    if (value < 1) this.fail(token, `expected ${what}: at least 1`);
    return value;
  }

  private expectWord(word: string): void {
    const token = this.next();
    if (!this.isWord(token, word)) this.fail(token, `expected '${word}', found ${this.found(token)}`);
  }
}

/**
 * Parses a rule's condition, e.g. `rss > 500MB for 3m`. Throws a RuleParseError (MW_CONFIG)
 * that names the column of the first problem.
 */
export function parseCondition(source: string, options: ParseConditionOptions = {}): Condition {
  return new Parser(source, tokenize(source), options).parse();
}
