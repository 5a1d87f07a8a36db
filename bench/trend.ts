/**
 * Accuracy of the trend detector on the held-out corpus, shape by shape, next to the naive rule
 * behind most alerting (Prometheus `predict_linear`: one least-squares line over the window, growth
 * means a leak), and the time to analyse one 10 000-point series. Prints; asserts nothing.
 *
 *   node --import tsx bench/trend.ts [--tuning]
 */
import { performance } from 'node:perf_hooks';
import { detectTrend, type TrendVerdict } from '../src/analysis/trend/index.js';
import {
  generateCorpus,
  generateSeries,
  HELD_OUT_SEEDS,
  type LabelledSeries,
  SHAPES,
  TUNING_SEEDS,
} from '../test/fixtures/trend-corpus.js';
import { BASELINE_MIN_SAMPLES, leastSquaresSlope } from './least-squares.js';
import { benchTrendLive } from './trend-live.js';

function leastSquaresVerdict(series: LabelledSeries): TrendVerdict {
  if (series.timeSeconds.length < BASELINE_MIN_SAMPLES) return 'insufficient';
  return leastSquaresSlope(series) > 0 ? 'leak' : 'no-leak';
}

function percent(right: number, total: number): string {
  return `${((100 * right) / total).toFixed(1)}% (${right}/${total})`;
}

export function benchTrend(tuning = process.argv.includes('--tuning')): void {
  const seeds = tuning ? TUNING_SEEDS : HELD_OUT_SEEDS;
  const corpus = generateCorpus(seeds);
  const rows: string[][] = [];
  let detectorTotal = 0;
  let baselineTotal = 0;
  const misses: string[] = [];
  for (const shape of SHAPES) {
    const cases = corpus.filter((c) => c.shape === shape);
    let detectorRight = 0;
    let baselineRight = 0;
    for (const c of cases) {
      const verdict = detectTrend(c).verdict;
      if (verdict === c.expected) detectorRight++;
      else misses.push(`${shape} seed ${c.seed}: ${verdict}`);
      if (leastSquaresVerdict(c) === c.expected) baselineRight++;
    }
    detectorTotal += detectorRight;
    baselineTotal += baselineRight;
    const expected = cases[0]?.expected ?? '';
    rows.push([shape, expected, percent(detectorRight, cases.length), percent(baselineRight, cases.length)]);
  }
  rows.push(['all', '', percent(detectorTotal, corpus.length), percent(baselineTotal, corpus.length)]);

  const header = ['shape', 'expected', 'memwarden', 'least squares (predict_linear)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(
    `trend detector on ${tuning ? 'tuning' : 'held-out'} seeds (${seeds.length} series per shape)\n`,
  );
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
  console.log(
    `\nleast squares: one line over the whole series, slope > 0 means leak; like memwarden it says`,
  );
  console.log(`insufficient below ${BASELINE_MIN_SAMPLES} samples.`);
  if (misses.length > 0) console.log(`memwarden misses: ${misses.join('; ')}`);

  const big = generateSeries('leak-under-sawtooth', 1);
  const points = 10_000;
  const start = big.timeSeconds[0] as number;
  const timeSeconds = Float64Array.from({ length: points }, (_, i) => start + i * 10);
  const bytes = Float64Array.from({ length: points }, (_, i) => big.bytes[i % big.bytes.length] as number);
  const runs = 30;
  const durationsMs: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const began = performance.now();
    detectTrend({ timeSeconds, bytes });
    if (i > 0) durationsMs.push(performance.now() - began);
  }
  durationsMs.sort((a, b) => a - b);
  const medianMs = durationsMs[durationsMs.length >> 1] ?? Number.NaN;
  console.log(`\ntime per ${points}-point series: ${medianMs.toFixed(1)} ms (median of ${runs})`);
  benchTrendLive();
}

if (import.meta.url === `file://${process.argv[1]}`) benchTrend();
