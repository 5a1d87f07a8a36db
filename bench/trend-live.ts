/**
 * The leak verdict live: labelled series replayed sample by sample through the path `watch`
 * takes (the trend tracker, then the rule engine with `when: leak`), printing per shape the delay
 * from the leak's start to the first `fired`, the `fired` events on shapes that do not leak, and
 * how often a fired leak resolved (flapping). Next to it, the same engine fed Prometheus-style
 * `predict_linear`: one least-squares line over the same samples, growth means a leak.
 */
import { compileRule, RuleEngine } from '../src/rules/index.js';
import type { ProcessSample } from '../src/sample/index.js';
import { observeTrend, type ProcessTrend, TrendTracker } from '../src/watch/trends.js';
import {
  isLiveShape,
  LIVE_SHAPES,
  type LiveSeries,
  type LiveShape,
  liveSeries,
} from '../test/fixtures/trend-live.js';
import { processSample, SYSTEM } from '../test/helpers/samples.js';
import { BASELINE_MIN_SAMPLES, leastSquaresSlope } from './least-squares.js';

const FIRST_SEED = Number(process.env.LIVE_FIRST_SEED ?? 70_001);
const SEEDS = Array.from({ length: Number(process.env.LIVE_SEEDS ?? 12) }, (_, i) => FIRST_SEED + i);
/** `LIVE_SHAPES=a,b` replays only those shapes; a name that is none is said before any work. */
const SHAPES = chosenShapes(process.env.LIVE_SHAPES);

function chosenShapes(list: string | undefined): LiveShape[] {
  if (list === undefined) return LIVE_SHAPES;
  const names = list.split(',').map((name) => name.trim());
  const unknown = names.find((name) => !isLiveShape(name));
  if (unknown === undefined) return names as LiveShape[];
  console.error(`LIVE_SHAPES: no shape '${unknown}'; the shapes are ${LIVE_SHAPES.join(', ')}`);
  process.exit(2);
}

interface Replay {
  /** Seconds from the leak's start (or the watch's, if later) to the first `fired`. */
  delaySeconds?: number;
  fired: number;
  resolved: number;
}

/** The verdict after the first `upTo` samples, the last of which is `sample`. */
type Judge = (sample: ProcessSample, upTo: number, nowMs: number) => ProcessTrend | undefined;

/** Replays one series through a judge and the rule engine, as the watcher's tick does. */
function replay(series: LiveSeries, judge: Judge): Replay {
  const rule = compileRule({ id: 'leak#1', target: 'app', when: 'leak', do: ['log'] });
  let clockMs = 0;
  const engine = new RuleEngine([rule], { clock: () => clockMs, intervalMs: series.intervalSeconds * 1000 });
  const result: Replay = { fired: 0, resolved: 0 };
  const watchStart = series.timeSeconds[0] as number;
  const leakStart = Math.max(watchStart, series.leakStartSeconds ?? watchStart);
  for (let i = 0; i < series.timeSeconds.length; i++) {
    const t = series.timeSeconds[i] as number;
    clockMs = (t - watchStart) * 1000;
    const sample = processSample({
      startTime: series.startSeconds * 1000,
      rss: series.bytes[i] as number,
      time: t * 1000,
    });
    const trend = judge(sample, i + 1, t * 1000);
    const observation = { sample, targets: ['app'] };
    if (trend) observeTrend(observation, trend);
    for (const event of engine.tick({ system: { ...SYSTEM, time: t * 1000 }, processes: [observation] })) {
      if (event.kind === 'resolved') result.resolved++;
      else if (!event.repeat) {
        result.fired++;
        if (result.delaySeconds === undefined && t >= leakStart) result.delaySeconds = t - leakStart;
      }
    }
  }
  return result;
}

function memwarden(series: LiveSeries): Replay {
  const tracker = new TrendTracker();
  return replay(series, (sample, _upTo, nowMs) => {
    tracker.record([sample], nowMs);
    return tracker.view(sample, { ...SYSTEM, time: nowMs });
  });
}

function predictLinear(series: LiveSeries): Replay {
  return replay(series, (_sample, upTo) => {
    if (upTo < BASELINE_MIN_SAMPLES) return { verdict: 'insufficient', reason: '', points: upTo };
    const slope = leastSquaresSlope(series, upTo);
    return { verdict: slope > 0 ? 'leak' : 'no-leak', reason: '', points: upTo, slopeBytesPerSecond: slope };
  });
}

function minutes(seconds: number | undefined): string {
  return seconds === undefined ? '-' : `${(seconds / 60).toFixed(1)}m`;
}

/** "median / worst" delay, and how many series were flagged at all. */
function delays(replays: readonly Replay[]): string {
  const flagged = replays.map((r) => r.delaySeconds).filter((d): d is number => d !== undefined);
  flagged.sort((a, b) => a - b);
  const median = flagged[flagged.length >> 1];
  const worst = flagged[flagged.length - 1];
  return `${minutes(median)} / ${minutes(worst)} (${flagged.length}/${replays.length})`;
}

function column(shapeLeaks: boolean, replays: readonly Replay[]): string {
  const fired = replays.reduce((sum, r) => sum + r.fired, 0);
  const resolved = replays.reduce((sum, r) => sum + r.resolved, 0);
  if (!shapeLeaks) return `${fired} false`;
  return `${delays(replays)}, ${resolved} resolved`;
}

export function benchTrendLive(): void {
  const rows: string[][] = [];
  for (const shape of SHAPES) {
    const series = SEEDS.map((seed) => liveSeries(shape, seed));
    const leaks = series[0]?.leaks ?? false;
    rows.push([
      shape,
      leaks ? 'leak' : 'no-leak',
      column(leaks, series.map(memwarden)),
      column(leaks, series.map(predictLinear)),
    ]);
  }
  const header = ['shape', 'expected', 'memwarden', 'predict_linear > 0'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(
    `\nlive: ${SEEDS.length} series per shape (seeds ${FIRST_SEED}…${FIRST_SEED + SEEDS.length - 1}), 60 minutes each, a sample every 5 s, through the tracker and the rule engine ('when: leak')`,
  );
  console.log(
    'leak shapes: delay from the leak start to the first fired, median / worst (flagged), resolved events',
  );
  console.log('no-leak shapes: fired events, all false\n');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
}
