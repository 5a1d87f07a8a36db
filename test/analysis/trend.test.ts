import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectTrend } from '../../src/analysis/trend/index.js';
import {
  generateCorpus,
  generateSeries,
  HELD_OUT_SEEDS,
  SHAPES,
  TUNING_SEEDS,
} from '../fixtures/trend-corpus.js';

const MiB = 1024 * 1024;

function line(points: number, intervalSeconds: number, startBytes: number, bytesPerSecond: number) {
  const timeSeconds = Float64Array.from({ length: points }, (_, i) => 1_700_000_000 + i * intervalSeconds);
  const bytes = Float64Array.from(
    { length: points },
    (_, i) => startBytes + bytesPerSecond * i * intervalSeconds + ((i * 7919) % 13) * 4096,
  );
  return { timeSeconds, bytes };
}

describe('trend detector on the generated corpus', () => {
  for (const shape of SHAPES) {
    it(`gives ${shape} its verdict on every tuning seed`, () => {
      for (const seed of TUNING_SEEDS.slice(0, 10)) {
        const series = generateSeries(shape, seed);
        const result = detectTrend(series);
        assert.equal(result.verdict, series.expected, `${shape} seed ${seed}: ${result.reason}`);
      }
    });
  }

  it('stays accurate on held-out seeds it was never tuned on', () => {
    const corpus = generateCorpus(HELD_OUT_SEEDS).map((c) => ({
      ...c,
      right: detectTrend(c).verdict === c.expected,
    }));
    const right = corpus.filter((c) => c.right).length;
    assert.ok(right / corpus.length >= 0.95, `held-out accuracy ${right}/${corpus.length}`);
    for (const shape of SHAPES) {
      const cases = corpus.filter((c) => c.shape === shape);
      const shapeRight = cases.filter((c) => c.right).length;
      assert.ok(shapeRight / cases.length >= 0.85, `${shape}: ${shapeRight}/${cases.length}`);
    }
  });
});

describe('trend detector', () => {
  it('estimates the growth rate and the time until a limit', () => {
    const bytesPerSecond = (2 * MiB) / 60;
    const series = line(600, 10, 500 * MiB, bytesPerSecond);
    const limitBytes = 2048 * MiB;
    const result = detectTrend(series, { limitBytes });
    assert.equal(result.verdict, 'leak');
    const slope = result.slopeBytesPerSecond ?? Number.NaN;
    assert.ok(Math.abs(slope - bytesPerSecond) < 0.02 * bytesPerSecond, `slope ${slope}`);
    assert.ok((result.slopeLowBytesPerSecond ?? Number.NaN) <= slope);
    assert.ok((result.slopeHighBytesPerSecond ?? Number.NaN) >= slope);
    assert.ok((result.pValue ?? 1) < 1e-6);
    const lastBytes = series.bytes[series.bytes.length - 1] as number;
    const expectedSeconds = (limitBytes - lastBytes) / bytesPerSecond;
    const seconds = result.timeToLimitSeconds ?? Number.NaN;
    assert.ok(
      Math.abs(seconds - expectedSeconds) < 0.05 * expectedSeconds,
      `${seconds} vs ${expectedSeconds}`,
    );
    assert.equal(result.limitBytes, limitBytes);
  });

  it('gives no time to limit without a limit or without a leak', () => {
    assert.equal(detectTrend(line(300, 10, 500 * MiB, 50_000)).timeToLimitSeconds, undefined);
    const flat = detectTrend(line(300, 10, 500 * MiB, 0), { limitBytes: 1024 * MiB });
    assert.equal(flat.verdict, 'no-leak');
    assert.equal(flat.timeToLimitSeconds, undefined);
  });

  it('says a process already past its limit meets it now', () => {
    const result = detectTrend(line(300, 10, 500 * MiB, 50_000), { limitBytes: 100 * MiB });
    assert.equal(result.timeToLimitSeconds, 0);
  });

  it('accepts samples out of order and skips non-finite ones', () => {
    const { timeSeconds, bytes } = line(400, 5, 300 * MiB, 20_000);
    const order = Array.from({ length: 400 }, (_, i) => (i * 173) % 400);
    const shuffled = {
      timeSeconds: [...order.map((i) => timeSeconds[i] as number), Number.NaN],
      bytes: [...order.map((i) => bytes[i] as number), 5],
    };
    const inOrder = detectTrend({ timeSeconds, bytes });
    const result = detectTrend(shuffled);
    assert.equal(result.points, 400);
    assert.equal(result.verdict, 'leak');
    assert.equal(result.slopeBytesPerSecond, inOrder.slopeBytesPerSecond);
  });

  it('says insufficient, with no estimate, for too few samples or no elapsed time', () => {
    const few = detectTrend(line(10, 60, 100 * MiB, 1e6));
    assert.equal(few.verdict, 'insufficient');
    assert.equal(few.slopeBytesPerSecond, null);
    assert.match(few.reason, /10 samples/);
    const instant = detectTrend({ timeSeconds: new Array(50).fill(5), bytes: new Array(50).fill(1e8) });
    assert.equal(instant.verdict, 'insufficient');
    assert.equal(detectTrend({ timeSeconds: [], bytes: [] }).verdict, 'insufficient');
  });

  it('sees no leak in a perfectly flat series of whole pages', () => {
    const result = detectTrend({
      timeSeconds: Array.from({ length: 100 }, (_, i) => i * 10),
      bytes: new Array(100).fill(4096 * 10_000),
    });
    assert.equal(result.verdict, 'no-leak');
    assert.equal(result.slopeBytesPerSecond, 0);
  });

  it('reports the rhythm it removed and where the current regime starts', () => {
    const sawtooth = detectTrend(generateSeries('sawtooth', 3));
    assert.ok((sawtooth.cycleSeconds ?? 0) > 0);
    const late = generateSeries('late-leak', 3);
    const result = detectTrend(late);
    const start = late.timeSeconds[0] as number;
    const end = late.timeSeconds[late.timeSeconds.length - 1] as number;
    assert.ok((result.regimeStartSeconds ?? start) > start + 0.1 * (end - start));
  });
});

describe('trend detector: evidence before a verdict', () => {
  it('calls a steep three-minute rise insufficient and says how much longer it needs', () => {
    const result = detectTrend(line(90, 2, 300 * MiB, (20 * MiB) / 60));
    assert.equal(result.verdict, 'insufficient', result.reason);
    assert.ok((result.neededSeconds ?? 0) > 60, `neededSeconds ${result.neededSeconds}`);
    assert.match(result.reason, /needs ~\d+ more minutes?/);
  });

  it('takes growth in the first minutes of a process for warm-up', () => {
    const series = line(160, 3, 300 * MiB, (2 * MiB) / 60);
    const startSeconds = (series.timeSeconds[0] as number) - 30;
    const young = detectTrend(series, { startSeconds });
    assert.equal(young.verdict, 'insufficient', young.reason);
    assert.match(young.reason, /started .* ago/);
    // The same series from a process that has run for a day is a leak.
    assert.equal(detectTrend(series, { startSeconds: startSeconds - 86_400 }).verdict, 'leak');
  });

  it("calls a leak from a process's start within half an hour, its warm-up and two-minute GC cycle included", () => {
    // 60 MiB filling over two minutes, 1 MiB/min leaking, a 30 MiB sawtooth every 120 s: after
    // the 10-minute warm-up, the floor is judged over the next ten minutes or five cycles.
    const start = 1_700_000_000;
    const timeSeconds = Float64Array.from({ length: (26 * 60) / 5 }, (_, i) => start + i * 5);
    const bytes = timeSeconds.map((t, i) => {
      const age = t - start;
      const warmup = 60 * MiB * (1 - Math.exp(-age / 120));
      return (
        300 * MiB + warmup + (MiB / 60) * age + ((age % 120) / 120) * 30 * MiB + ((i * 7919) % 13) * 4096
      );
    });
    const result = detectTrend({ timeSeconds, bytes }, { startSeconds: start, significance: 0.001 });
    assert.equal(result.verdict, 'leak', result.reason);
  });

  it('says a young process grows far beyond a warm-up when it does', () => {
    const series = line(160, 3, 300 * MiB, (60 * MiB) / 60);
    const result = detectTrend(series, { startSeconds: (series.timeSeconds[0] as number) - 30 });
    assert.equal(result.verdict, 'leak', result.reason);
    assert.match(result.reason, /growing 60\.0 MiB\/min since start/);
  });
});
