import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type Scalar,
} from 'yaml';
import { isMemwardenError } from '../errors.js';
import { didYouMean, parseDuration, parseSize } from '../units/index.js';
import { type ConfigIssue, formatPath, type KeyPath } from './issues.js';

export interface Entry {
  key: Scalar;
  /** Undefined for `key:` with nothing after it. */
  value: Node | undefined;
}

function describe(node: Node | undefined): string {
  if (node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return 'nothing';
    if (typeof value === 'number') return `the bare number ${node.source ?? value}`;
    if (typeof value === 'boolean') return `the boolean ${value}`;
    return `'${String(value)}'`;
  }
  return 'something else';
}

/**
 * Reads a parsed YAML document node by node, checking shapes and collecting every problem with
 * the line and column it comes from. Each reader returns undefined for a value it rejected, so
 * that validation goes on and the user sees all the errors at once.
 */
export class ConfigReader {
  readonly issues: ConfigIssue[] = [];

  constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lineCounter: LineCounter,
  ) {}

  /** Records a problem at a source offset. */
  reportAt(
    offset: number,
    path: KeyPath,
    message: string,
    severity: ConfigIssue['severity'] = 'error',
  ): void {
    const { line, col } = this.lineCounter.linePos(offset);
    this.issues.push({ severity, file: this.file, line, column: col, path: formatPath(path), message });
  }

  report(
    node: Node | undefined,
    path: KeyPath,
    message: string,
    severity: ConfigIssue['severity'] = 'error',
  ): void {
    this.reportAt(node?.range?.[0] ?? 0, path, message, severity);
  }

  get hasErrors(): boolean {
    return this.issues.some((issue) => issue.severity === 'error');
  }

  /** The node a value stands for: aliases followed, an empty value as undefined. */
  resolve(node: unknown): Node | undefined {
    let current = node;
    if (isAlias(current)) current = current.resolve(this.doc);
    if (current === null || current === undefined) return undefined;
    if (isScalar(current) && current.value === null) return undefined;
    return current as Node;
  }

  toJS(node: Node): unknown {
    return node.toJS(this.doc);
  }

  /** A mapping whose keys must all be in `keys`; unknown keys are reported with a suggestion. */
  map(
    node: Node | undefined,
    path: KeyPath,
    keys: readonly string[],
    at: Node | undefined = node,
  ): Map<string, Entry> | undefined {
    if (!isMap(node)) {
      this.report(at, path, `expected a mapping with keys ${keys.join(', ')}, found ${describe(node)}`);
      return undefined;
    }
    const entries = new Map<string, Entry>();
    for (const pair of node.items) {
      const key = pair.key;
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.report(
          isScalar(key) ? key : node,
          path,
          `expected a key name, found ${describe(this.resolve(key))}`,
        );
        continue;
      }
      if (!keys.includes(key.value)) {
        this.report(
          key,
          [...path, key.value],
          `unknown key '${key.value}'${didYouMean(key.value, keys)}; expected one of ${keys.join(', ')}`,
        );
        continue;
      }
      entries.set(key.value, { key, value: this.resolve(pair.value) });
    }
    return entries;
  }

  /** The value of a required key, or a report at the mapping that lacks it. */
  required(
    entries: Map<string, Entry>,
    key: string,
    mapNode: Node | undefined,
    path: KeyPath,
    expected: string,
  ): Node | undefined {
    const entry = entries.get(key);
    if (entry === undefined) {
      this.report(mapNode, path, `missing key '${key}' (${expected})`);
      return undefined;
    }
    if (entry.value === undefined) {
      this.report(entry.key, [...path, key], `expected ${expected}, found nothing`);
      return undefined;
    }
    return entry.value;
  }

  string(node: Node | undefined, path: KeyPath, expected: string, at?: Node): string | undefined {
    if (isScalar(node) && typeof node.value === 'string' && node.value !== '') return node.value;
    this.report(node ?? at, path, `expected ${expected}, found ${describe(node)}`);
    return undefined;
  }

  boolean(node: Node | undefined, path: KeyPath, at?: Node): boolean | undefined {
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    this.report(node ?? at, path, `expected true or false, found ${describe(node)}`);
    return undefined;
  }

  integer(
    node: Node | undefined,
    path: KeyPath,
    min: number,
    expected: string,
    at?: Node,
  ): number | undefined {
    if (
      isScalar(node) &&
      typeof node.value === 'number' &&
      Number.isInteger(node.value) &&
      node.value >= min
    ) {
      return node.value;
    }
    this.report(node ?? at, path, `expected ${expected}, found ${describe(node)}`);
    return undefined;
  }

  /** One string or a list of them; numbers are taken as written (`pid: 42`, `user: 1000`). */
  stringList(node: Node | undefined, path: KeyPath, expected: string, at?: Node): string[] | undefined {
    const items = isSeq(node) ? node.items.map((item) => this.resolve(item)) : [node];
    if (items.length === 0) {
      this.report(node ?? at, path, `expected ${expected}, found an empty list`);
      return undefined;
    }
    const out: string[] = [];
    let ok = true;
    items.forEach((item, index) => {
      const itemPath = isSeq(node) ? [...path, index] : path;
      if (
        isScalar(item) &&
        (typeof item.value === 'string' || typeof item.value === 'number') &&
        item.value !== ''
      ) {
        out.push(typeof item.value === 'number' ? (item.source ?? String(item.value)) : item.value);
      } else {
        this.report(item ?? node ?? at, itemPath, `expected ${expected}, found ${describe(item)}`);
        ok = false;
      }
    });
    return ok ? out : undefined;
  }

  /** A duration with its unit (`10s`), at least `minMs`. */
  duration(
    node: Node | undefined,
    path: KeyPath,
    minMs: number,
    example: string,
    at?: Node,
  ): number | undefined {
    const expected = `a duration with a unit such as ${example}`;
    if (!isScalar(node) || typeof node.value !== 'string') {
      this.report(node ?? at, path, `expected ${expected}, found ${describe(node)}`);
      return undefined;
    }
    const ms = this.convert(node, path, () => parseDuration(String(node.value)));
    if (ms !== undefined && ms < minMs) {
      this.report(
        node,
        path,
        `expected ${expected}: must be ${minMs <= 1 ? 'longer than 0' : `at least ${minMs}ms`}`,
      );
      return undefined;
    }
    return ms;
  }

  /** A size with its unit (`10MB`); a bare number is refused because it is ambiguous. */
  size(node: Node | undefined, path: KeyPath, example: string, at?: Node): number | undefined {
    const expected = `a size with a unit such as ${example} (MB and MiB differ)`;
    if (!isScalar(node) || typeof node.value !== 'string') {
      this.report(node ?? at, path, `expected ${expected}, found ${describe(node)}`);
      return undefined;
    }
    const bytes = this.convert(node, path, () => parseSize(String(node.value)));
    if (bytes !== undefined && bytes <= 0) {
      this.report(node, path, `expected ${expected}: must be more than 0`);
      return undefined;
    }
    return bytes;
  }

  private convert(node: Node, path: KeyPath, parse: () => number): number | undefined {
    try {
      return parse();
    } catch (err) {
      if (!isMemwardenError(err)) throw err;
      this.report(node, path, err.message);
      return undefined;
    }
  }
}
