import { MemwardenError } from '../errors.js';

const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
};

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const NUMBER_WITH_UNIT = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z%]*)\s*$/;

function split(text: string, what: string, example: string): { value: number; unit: string } {
  const m = NUMBER_WITH_UNIT.exec(text);
  if (!m) throw new MemwardenError('MW_BAD_VALUE', `invalid ${what} '${text}': expected e.g. ${example}`);
  return { value: Number(m[1]), unit: m[2] ?? '' };
}

/** `500MB` → 500e6, `1.5GiB` → 1610612736. The unit is required: a bare number is ambiguous. */
export function parseSize(text: string): number {
  const { value, unit } = split(text, 'size', '500MB or 1.5GiB');
  const factor = SIZE_UNITS[unit.toUpperCase()];
  // `mb` would be millibits to a pedant; accept any case but require the i for binary units.
  if (factor === undefined || unit === '') {
    throw new MemwardenError(
      'MW_BAD_VALUE',
      `invalid size '${text}': a unit is required (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`,
    );
  }
  return Math.round(value * factor);
}

/** `10s` → 10000 ms. Units: ms, s, m, h, d, w. */
export function parseDuration(text: string): number {
  const { value, unit } = split(text, 'duration', '250ms, 10s, 5m or 2h');
  const factor = DURATION_UNITS[unit];
  if (factor === undefined) {
    throw new MemwardenError(
      'MW_BAD_VALUE',
      `invalid duration '${text}': a unit is required (ms, s, m, h, d, w)`,
    );
  }
  return value * factor;
}

/** `40%` → 40. */
export function parsePercent(text: string): number {
  const { value, unit } = split(text, 'percentage', '40%');
  if (unit !== '%')
    throw new MemwardenError('MW_BAD_VALUE', `invalid percentage '${text}': expected e.g. 40%`);
  return value;
}

export type SizeOrPercent = { kind: 'bytes'; bytes: number } | { kind: 'percent'; percent: number };

/** A threshold written either way: `40%` or `500MB`. */
export function parseSizeOrPercent(text: string): SizeOrPercent {
  if (text.trim().endsWith('%')) return { kind: 'percent', percent: parsePercent(text) };
  // A bare number could be either: say both forms rather than only the size's units.
  if (/^\s*\d+(\.\d+)?\s*$/.test(text))
    throw new MemwardenError(
      'MW_BAD_VALUE',
      `invalid threshold '${text}': a unit is required, a percentage of memory (${text.trim()}%) or a size (${text.trim()}MB)`,
    );
  return { kind: 'bytes', bytes: parseSize(text) };
}
