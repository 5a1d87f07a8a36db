import { parseArgs } from 'node:util';
import { errnoCode, MemwardenError } from '../errors.js';
import { didYouMean } from '../units/index.js';

type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

export interface ParsedArgs<O extends Record<string, OptionSpec>> {
  values: {
    [K in keyof O]?: O[K]['type'] extends 'string'
      ? O[K]['multiple'] extends true
        ? string[]
        : string
      : O[K]['multiple'] extends true
        ? boolean[]
        : boolean;
  };
  positionals: string[];
}

/**
 * Strict flag parsing for one command: an unknown flag or a missing value becomes a MW_USAGE
 * error naming the flag (and the flag it most likely meant, as the config's keys do), which the
 * CLI prints as one line, prefixed with the command's name, and exit code 2.
 */
export function parseCommandArgs<O extends Record<string, OptionSpec>>(
  args: readonly string[],
  options: O,
): ParsedArgs<O> {
  try {
    const parsed = parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return parsed as unknown as ParsedArgs<O>;
  } catch (err) {
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
    const unknown = /^Unknown option '([^']*)'/.exec(message)?.[1];
    if (errnoCode(err) === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown !== undefined) {
      const flags = Object.keys(options).map((name) => `--${name}`);
      throw new MemwardenError(
        'MW_USAGE',
        `unknown option '${unknown}'${didYouMean(unknown.replace(/=.*$/, ''), flags)} (see --help)`,
      );
    }
    throw new MemwardenError('MW_USAGE', message.replace(/^Option/, 'option'));
  }
}

/** Writes a JSON document with a trailing newline. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
