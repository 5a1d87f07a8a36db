import { formatBytes, formatDuration } from '../../units/index.js';
import { MIN_DROPS, type Rhythm } from './cycle.js';

/**
 * Shorter than this, a rise cannot be told from the rising half of a rhythm the series has not
 * yet shown (a GC cycle of a minute or two, a burst of work), however clean it looks.
 */
const MIN_EVIDENCE_SECONDS = 5 * 60;
/**
 * A rhythm must have come round this many times before its floor's rise is believed: a wave's
 * period is measured well, and the seasonal test compares whole cycles; a sawtooth's cycle is
 * only guessed from the gaps between a few collections, and a longer one may be yet to come.
 */
const MIN_EVIDENCE_WAVES = 3;
const MIN_EVIDENCE_SAWTEETH = 5;
/** The longest series in which a few falls of the memory are taken for a rhythm not yet timed. */
const UNTIMED_RHYTHM_SECONDS = 60 * 60;
/** A slope whose 95 % interval is narrower than this share of itself needs only the least span… */
const CONFIDENT_INTERVAL_SHARE = 0.5;
/** …and a wider one proportionally more, up to this many times the least span. */
const MAX_EVIDENCE_FACTOR = 4;
/** The first minutes of a process fill caches, pools and the JIT's code: growth then is normal. */
export const WARMUP_SECONDS = 10 * 60;
/** A process younger than this whose growth is slowing is still taken to be warming up… */
const MAX_WARMUP_SECONDS = 60 * 60;
/**
 * …unless, after its warm-up, its floor rises significantly and the newest third of that rise
 * keeps at least this share of the oldest third's pace.
 */
const KEEP_PACE_SHARE = 0.8;
/**
 * The least span after the warm-up that paces are compared over: a warm-up's tail slows within
 * minutes, whatever the rhythm on top of it.
 */
const MIN_POST_WARMUP_SECONDS = 10 * 60;
/**
 * Growth in warm-up that is far beyond any warm-up: the floor's conservative slope adds this
 * share of the floor every minute without slowing, or the process meets its limit before the
 * warm-up would be over.
 */
const FAST_SHARE_PER_MINUTE = 0.1;

export interface EvidenceFacts {
  /** Span of the series, seconds. */
  durationSeconds: number;
  /** The series' rhythm (cycle, period, drops). */
  rhythm: Rhythm;
  slope: number;
  slopeLow: number;
  slopeHigh: number;
  /** The median floor in the current regime. */
  levelBytes: number;
  /** Seconds from the process's start to the last sample, when the start is known. */
  ageSeconds: number | undefined;
  /** Seconds until the limit at the slope's lower bound, when a limit is known. */
  conservativeSecondsToLimit: number | undefined;
  /** The newest part of the regime surely grows slower than the whole: a warm-up's shape. */
  slowing: boolean;
  /** The slope of the newest third of the regime (after the warm-up, when known), and of its oldest. */
  recentSlope: number;
  olderSlope: number;
  /**
   * Set when the paces are those after the warm-up, over a span long enough for a warm-up's tail
   * to show as slowing: whether the floor after the warm-up rises significantly on its own. The
   * newest pace then need not be surely kept, only kept.
   */
  risesAfterWarmup?: boolean;
  /** Span of the current regime (after the last bend): the part the slope is measured on. */
  regimeSeconds: number;
}

export interface Evidence {
  /** Span of series a leak verdict needs, given the rhythm and how sure the slope is. */
  requiredSeconds: number;
  /** Set when a leak cannot be called yet: roughly how much longer, and why. */
  missing?: { neededSeconds: number; reason: string };
  /** Growth far beyond a warm-up, said as such in the reason. */
  sinceStart?: string;
}

/**
 * Whether a rising floor has been watched long enough to be called a leak: across several of
 * its own cycles, for a span that grows as the slope's interval widens, and past the process's
 * warm-up unless the growth is far beyond any warm-up.
 */
export function weighEvidence(facts: EvidenceFacts): Evidence {
  const relativeWidth = facts.slope > 0 ? (facts.slopeHigh - facts.slopeLow) / facts.slope : Infinity;
  const factor = Math.min(MAX_EVIDENCE_FACTOR, Math.max(1, relativeWidth / CONFIDENT_INTERVAL_SHARE));
  const base = evidenceSpanSeconds(facts.rhythm);
  const requiredSeconds = base * factor;
  const evidence: Evidence = { requiredSeconds };
  const cycleSeconds = facts.rhythm.cycleSeconds;
  // Falls of the memory with no rhythm timed from them: one is there but not yet known. Over
  // hours, a fall or two is an event, not the sign of a collection cycle still to be seen.
  const timed = cycleSeconds !== undefined && facts.rhythm.periodSeconds === undefined;
  const untimedDrops = !timed && facts.durationSeconds < UNTIMED_RHYTHM_SECONDS ? facts.rhythm.drops : 0;
  if (untimedDrops > 0) {
    // Each fall so far took about this long to come, and a rhythm is timed from MIN_DROPS of them.
    const spacing = facts.durationSeconds / untimedDrops;
    evidence.missing = {
      neededSeconds: Math.max(spacing * (MIN_DROPS - untimedDrops), base - facts.durationSeconds),
      reason: `its memory fell back ${untimedDrops === 1 ? 'once' : `${untimedDrops} times`} in ${formatDuration(facts.durationSeconds * 1000)}, too few to tell a rise from the upswing of its rhythm`,
    };
    return evidence;
  }
  const spanNeeded = Math.max(requiredSeconds - facts.durationSeconds, base - facts.regimeSeconds);
  if (spanNeeded > 0) {
    const cycles =
      cycleSeconds === undefined
        ? ''
        : ` (${Math.round(base / cycleSeconds)} of its ${formatDuration(cycleSeconds * 1000)} cycles${factor > 1 ? ', more while the slope is unsure' : ''})`;
    evidence.missing = {
      neededSeconds: spanNeeded,
      reason: `the memory floor rises, but ${formatDuration(facts.durationSeconds * 1000)} of samples is too short to call it a leak${cycles}`,
    };
    return evidence;
  }
  const age = facts.ageSeconds;
  if (age === undefined || age >= MAX_WARMUP_SECONDS) return evidence;
  // A young process's growth is believed only on the floor after its warm-up, and only while it
  // keeps its pace there: a warm-up slows as it fills, a leak does not.
  if (facts.risesAfterWarmup !== undefined) {
    if (facts.risesAfterWarmup && facts.recentSlope >= KEEP_PACE_SHARE * facts.olderSlope) return evidence;
    evidence.missing = {
      neededSeconds: base,
      reason: facts.risesAfterWarmup
        ? `started ${formatDuration(age * 1000)} ago, and its floor rises slower now than after its warm-up, as a warm-up's tail does`
        : `started ${formatDuration(age * 1000)} ago, and its floor has not risen surely since its first ${formatDuration(WARMUP_SECONDS * 1000)}`,
    };
    return evidence;
  }
  const fast =
    !facts.slowing &&
    facts.levelBytes > 0 &&
    (facts.slopeLow * 60) / facts.levelBytes >= FAST_SHARE_PER_MINUTE;
  const meetsLimitInWarmup =
    facts.conservativeSecondsToLimit !== undefined && facts.conservativeSecondsToLimit < WARMUP_SECONDS;
  if (fast || meetsLimitInWarmup) {
    evidence.sinceStart = `growing ${formatBytes(facts.slope * 60)}/min since start, far beyond a warm-up`;
    return evidence;
  }
  evidence.missing = {
    neededSeconds: Math.max(base, WARMUP_SECONDS + postWarmupSpanSeconds(facts.rhythm) - age),
    reason: `started ${formatDuration(age * 1000)} ago: growth in the first ${formatDuration(WARMUP_SECONDS * 1000)} is taken for warm-up, and a leak must show after it`,
  };
  return evidence;
}

/**
 * How long after its warm-up a young process's floor is watched before its paces are compared:
 * long enough for what is left of a warm-up to show as slowing, and for its rhythm to come round
 * as often as any verdict needs.
 */
export function postWarmupSpanSeconds(rhythm: Rhythm): number {
  return Math.max(evidenceSpanSeconds(rhythm), MIN_POST_WARMUP_SECONDS);
}

/** The least span any verdict about growth needs: several cycles, and never less than minutes. */
export function evidenceSpanSeconds(rhythm: Rhythm): number {
  const cycles = rhythm.periodSeconds === undefined ? MIN_EVIDENCE_SAWTEETH : MIN_EVIDENCE_WAVES;
  return Math.max(MIN_EVIDENCE_SECONDS, cycles * (rhythm.cycleSeconds ?? 0));
}

/** Whole minutes, rounded up so that a verdict is never promised too early. */
export function neededMinutes(seconds: number): number {
  return Math.max(1, Math.ceil(seconds / 60));
}

/** "needs ~N more minutes". */
export function neededText(seconds: number): string {
  const minutes = neededMinutes(seconds);
  return `needs ~${minutes} more minute${minutes === 1 ? '' : 's'}`;
}
