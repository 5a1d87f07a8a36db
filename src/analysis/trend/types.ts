/** A memory series: parallel arrays, any order, any spacing. Times in seconds on any clock. */
export interface MemorySeries {
  timeSeconds: ArrayLike<number>;
  bytes: ArrayLike<number>;
}

export interface TrendOptions {
  /** Memory the process may not pass (cgroup `memory.max`, available memory or a user's limit). */
  limitBytes?: number;
  /** One-sided p-value below which growth counts as real. Default 0.01. */
  significance?: number;
  /** Growth of the floor over the current regime, as a share of its level, below which a
   * significant trend is still too small to call a leak. Default 0.02. */
  minGrowthFraction?: number;
  /**
   * When the process started, on the series' clock. Its first minutes are then taken for
   * warm-up: growth in them is no leak unless it is far beyond any warm-up.
   */
  startSeconds?: number;
}

export type TrendVerdict = 'leak' | 'no-leak' | 'insufficient';

export interface TrendResult {
  verdict: TrendVerdict;
  /** One line: why this verdict. */
  reason: string;
  /** Samples used (finite ones). */
  points: number;
  /** Theil–Sen slope of the floor over the current regime; null when it cannot be estimated. */
  slopeBytesPerSecond: number | null;
  /** The slope's interval at `confidenceLevel`. */
  slopeLowBytesPerSecond: number | null;
  slopeHighBytesPerSecond: number | null;
  confidenceLevel: number;
  /** Mann–Kendall one-sided p-value for "the floor grows". */
  pValue: number | null;
  /** The rhythm removed before fitting (GC sawtooth, batch jobs, a wave), if one was found. */
  cycleSeconds: number | null;
  /** The floor is the minimum over windows this long. */
  windowSeconds: number | null;
  /** Start of the current regime (after the last step, plateau or onset), on the input's clock. */
  regimeStartSeconds: number | null;
  /** The fitted floor at the last sample. */
  floorBytes: number | null;
  /** The floor plus the usual excursion above it (sawtooth peaks): what meets a limit first. */
  peakBytes: number | null;
  limitBytes?: number;
  /**
   * Span of series a verdict of leak needs here: several of the series' own cycles and some
   * minutes, more while the slope is unsure. A `no-leak` is trusted after as long.
   */
  evidenceSeconds: number | null;
  /** For an `insufficient` verdict on a rising floor: about how much longer until one is given. */
  neededSeconds?: number;
  /** Seconds from the last sample until `peakBytes` reaches the limit; only for a leak with a limit. */
  timeToLimitSeconds?: number;
}
