import { MemwardenError } from '../errors.js';

/**
 * A rule that does not parse. `column` (1-based, into `source`) and `reason` are kept apart from
 * the message so that the config loader can turn the column into a file line and column.
 */
export class RuleParseError extends MemwardenError {
  constructor(
    readonly source: string,
    readonly column: number,
    readonly reason: string,
  ) {
    super('MW_CONFIG', `rule '${source}' at column ${column}: ${reason}`);
  }
}
