import { parseArgs } from 'node:util';
import { MemwardenError } from '../errors.js';

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
 * error naming the flag, which the CLI prints as one line and exit code 2.
 */
export function parseCommandArgs<O extends Record<string, OptionSpec>>(
  command: string,
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
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new MemwardenError(
      'MW_USAGE',
      `${command}: ${message?.replace(/\. To specify a positional.*$/, '')}`,
    );
  }
}

export function wantsHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/** Writes a JSON document with a trailing newline. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
