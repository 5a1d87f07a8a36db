import { isMap, isSeq, type Node } from 'yaml';
import type { ConfigReader } from './reader.js';
import type { LoadConfigOptions } from './types.js';

/** What every section's parser reads from: the reader, the file's text and directory, the options. */
export interface ParseContext {
  readonly reader: ConfigReader;
  readonly text: string;
  /** The config file's directory, where its relative paths start. */
  readonly dir: string;
  readonly options: LoadConfigOptions;
  /** Each rule's node by rule id, to place warnings about it. */
  readonly ruleNodes: Map<string, Node>;
}

/** The node an ActionSpecError's path leads to, as far as the YAML goes. */
export function nodeAt(reader: ConfigReader, node: Node, path: readonly (string | number)[]): Node {
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
