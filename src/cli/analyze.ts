import { readFile } from 'node:fs/promises';
import { detectTrend, type TrendResult } from '../analysis/trend/index.js';
import { errnoCode, MemwardenError } from '../errors.js';
import { formatBytes, formatDuration, parseSize } from '../units/index.js';
import { parseCommandArgs, printJson } from './args.js';
import type { Command } from './command.js';
import { parseSeriesText } from './series-input.js';

const HELP = `Usage: memwarden analyze <series.csv|history.json> [--limit SIZE] [--json]

Tells a memory leak from a GC sawtooth, a cache warming up, a reload, a daily wave, batch jobs
and spikes, and says how fast memory grows and when it reaches a limit.

Input: a CSV with the header t,rss (seconds, bytes), or the JSON array printed by
'memwarden history --json' (objects with time in ms or t in s, and rss in bytes).

Options:
  --limit SIZE  memory the process may not pass, e.g. 2GiB; enables the time-to-limit estimate
  --json        print one JSON object: verdict, slopeBytesPerSecond, its 95% interval,
                pValue, timeToLimitSeconds (with --limit, for a leak) and more
  -h, --help    show this help
`;

async function readSeriesFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') throw new MemwardenError('MW_USAGE', `${path}: no such file`);
    if (code === 'EISDIR') throw new MemwardenError('MW_USAGE', `${path}: is a directory, not a series file`);
    if (code === 'EACCES') throw new MemwardenError('MW_PERMISSION', `${path}: permission denied`);
    throw new MemwardenError('MW_INPUT', `${path}: cannot read (${code ?? String(err)})`);
  }
}

const RATE_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['s', 1],
  ['min', 60],
  ['h', 3600],
  ['d', 86_400],
];

/** The shortest time unit in which the rate reaches 1 MiB, so that numbers stay readable. */
function rateUnit(bytesPerSecond: number): readonly [string, number] {
  return (
    RATE_UNITS.find(([, seconds]) => Math.abs(bytesPerSecond * seconds) >= 1024 * 1024) ??
    (RATE_UNITS[RATE_UNITS.length - 1] as readonly [string, number])
  );
}

function signedBytes(bytes: number): string {
  return `${bytes >= 0 ? '+' : ''}${formatBytes(bytes)}`;
}

function describe(result: TrendResult): string {
  const slope = result.slopeBytesPerSecond;
  if (result.verdict === 'insufficient' || slope === null) return `insufficient data: ${result.reason}\n`;
  const [unit, seconds] = rateUnit(slope);
  const rate = (bytesPerSecond: number | null) =>
    `${signedBytes((bytesPerSecond ?? Number.NaN) * seconds)}/${unit}`;
  const interval = `95% CI ${rate(result.slopeLowBytesPerSecond)} to ${rate(result.slopeHighBytesPerSecond)}`;
  const pValue = result.pValue ?? Number.NaN;
  const p = pValue < 1e-4 ? 'p < 0.0001' : `p = ${pValue.toPrecision(2)}`;
  const head = result.verdict === 'leak' ? 'leak:' : 'no leak: the floor changes';
  let line = `${head} ${rate(slope)} (${interval}, ${p})`;
  if (result.timeToLimitSeconds !== undefined && result.limitBytes !== undefined) {
    const limit = formatBytes(result.limitBytes);
    line +=
      result.timeToLimitSeconds === 0
        ? `, already at its ${limit} limit`
        : `, reaches ${limit} limit in ~${formatDuration(result.timeToLimitSeconds * 1000)}`;
  }
  return `${line}\n  ${result.reason}\n`;
}

export const analyzeCommand: Command = {
  name: 'analyze',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      limit: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length !== 1) {
      throw new MemwardenError('MW_USAGE', 'expected one series file (see memwarden analyze --help)');
    }
    const path = positionals[0] as string;
    const limitBytes = values.limit === undefined ? undefined : parseSize(values.limit);
    const series = parseSeriesText(await readSeriesFile(path), path);
    const result = detectTrend(series, limitBytes === undefined ? {} : { limitBytes });
    if (values.json) printJson(result);
    else process.stdout.write(describe(result));
  },
};
