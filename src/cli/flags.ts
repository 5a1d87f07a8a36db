import { MIN_INTERVAL_MS } from '../config/index.js';
import { MemwardenError } from '../errors.js';
import { parseDuration } from '../units/index.js';

/**
 * A count flag (`--count`, `--limit`, `--min-count`, `--max-points`): digits only, at least
 * `min`. One reading and one error for every command, exit code 2.
 */
export function parseCountFlag(flag: string, text: string | undefined, min = 1): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new MemwardenError('MW_USAGE', `invalid ${flag} '${text}': expected a whole number ≥ ${min}`);
  }
  return n;
}

/**
 * `--interval`: a duration no shorter than the config's floor, for every command that ticks
 * (below it a sweep of /proc would be most of the machine's work, and 0 would spin).
 */
export function parseIntervalFlag(text: string | undefined, defaultMs: number): number {
  const ms = text === undefined ? defaultMs : parseDuration(text);
  if (ms < MIN_INTERVAL_MS)
    throw new MemwardenError(
      'MW_USAGE',
      `invalid --interval '${text}': must be at least ${MIN_INTERVAL_MS}ms`,
    );
  return ms;
}
