import { MemwardenError } from '../errors.js';

/** One problem found in a config file, placed at the line and column it comes from. */
export interface ConfigIssue {
  severity: 'error' | 'warning';
  file: string;
  /** 1-based; absent for problems with the file itself (its mode, its owner). */
  line?: number;
  column?: number;
  /** The key path, e.g. `targets[0].rules[1].when`; empty for the file as a whole. */
  path: string;
  message: string;
}

/** `file:line:column: key.path: what was expected`. */
export function formatIssue(issue: ConfigIssue): string {
  const place = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  const prefix = issue.severity === 'warning' ? 'warning: ' : '';
  return issue.path === ''
    ? `${place}: ${prefix}${issue.message}`
    : `${place}: ${prefix}${issue.path}: ${issue.message}`;
}

/** Every error of a config file at once; the message has one line per error. */
export class ConfigError extends MemwardenError {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super('MW_CONFIG', issues.map(formatIssue).join('\n'));
  }
}

export type KeyPath = readonly (string | number)[];

export function formatPath(path: KeyPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out;
}
