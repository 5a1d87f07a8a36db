import { growthPValue, mannKendall } from './mann-kendall.js';
import { median, sortedQuantile } from './stats.js';
import { slopeInterval } from './theil-sen.js';

export interface SeasonalTrend {
  slope: number;
  slopeLow: number;
  slopeHigh: number;
  pValueGrowth: number;
}

const MAX_SEASONS = 24;

/**
 * Seasonal Kendall test and seasonal Sen slope: each phase of a regular rhythm (a daily wave, an
 * hourly job) is compared only with the same phase in other cycles, so the rhythm cancels and
 * every cycle adds evidence. A floor taken over whole cycles keeps one trough per cycle and needs
 * many cycles to be sure; this needs a few. Each (cycle, phase) cell is summarised by its median,
 * which also drops spikes. Undefined when fewer than three cycles are covered.
 */
export function seasonalTrend(
  timeSeconds: Float64Array,
  bytes: Float64Array,
  periodSeconds: number,
): SeasonalTrend | undefined {
  const n = timeSeconds.length;
  if (n < 2) return undefined;
  const start = timeSeconds[0] as number;
  const duration = (timeSeconds[n - 1] as number) - start;
  const cycles = Math.floor(duration / periodSeconds) + 1;
  if (duration < 3 * periodSeconds) return undefined;
  const seasons = Math.max(1, Math.min(MAX_SEASONS, Math.floor((n * periodSeconds) / duration / 2)));
  const cellValues: number[][] = Array.from({ length: cycles * seasons }, () => []);
  const cellTimes: number[][] = Array.from({ length: cycles * seasons }, () => []);
  for (let i = 0; i < n; i++) {
    const offset = (timeSeconds[i] as number) - start;
    const cycle = Math.min(cycles - 1, Math.floor(offset / periodSeconds));
    const season = Math.min(
      seasons - 1,
      Math.floor(((offset - cycle * periodSeconds) / periodSeconds) * seasons),
    );
    cellValues[cycle * seasons + season]?.push(bytes[i] as number);
    cellTimes[cycle * seasons + season]?.push(timeSeconds[i] as number);
  }
  let s = 0;
  let varianceS = 0;
  const slopes: number[] = [];
  for (let season = 0; season < seasons; season++) {
    const values: number[] = [];
    const times: number[] = [];
    for (let cycle = 0; cycle < cycles; cycle++) {
      const cell = cycle * seasons + season;
      const cellBytes = cellValues[cell] ?? [];
      if (cellBytes.length === 0) continue;
      values.push(median(cellBytes));
      times.push(median(cellTimes[cell] ?? []));
    }
    const mk = mannKendall(values);
    s += mk.s;
    varianceS += mk.varianceS;
    for (let i = 0; i < values.length - 1; i++) {
      for (let j = i + 1; j < values.length; j++) {
        const dt = (times[j] as number) - (times[i] as number);
        if (dt > 0) slopes.push(((values[j] as number) - (values[i] as number)) / dt);
      }
    }
  }
  if (slopes.length === 0) return undefined;
  const sorted = Float64Array.from(slopes).sort();
  return {
    slope: sortedQuantile(sorted, 0.5),
    ...slopeInterval(sorted, varianceS),
    pValueGrowth: growthPValue(s, varianceS),
  };
}
