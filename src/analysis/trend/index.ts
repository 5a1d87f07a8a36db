/**
 * The trend detector: given a memory series (times in seconds, bytes), it says whether the process
 * leaks, how fast its memory floor grows with a 95 % interval and a p-value, and when it will meet a
 * limit. It owns the robust statistics that keep a GC sawtooth, a cache warming up, a reload, a
 * daily wave, batch jobs and spikes from passing for a leak: the floor over windows at least one
 * rhythm long, the current regime after the last bend, Theil–Sen and Mann–Kendall. Pure: no I/O,
 * no clock; where the series and the limit come from is the caller's business.
 */
export { detectTrend } from './detect.js';
export { neededMinutes, neededText } from './evidence.js';
export type { MemorySeries, TrendOptions, TrendResult, TrendVerdict } from './types.js';
