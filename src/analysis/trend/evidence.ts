import { formatBytes, formatDuration } from '../../units/index.js';

/**
 * Shorter than this, a rise cannot be told from the rising half of a rhythm the series has not
 * yet shown (a GC cycle of a minute or two, a burst of work), however clean it looks.
 */
const MIN_EVIDENCE_SECONDS = 5 * 60;
/** A rhythm must have come round this many times before its floor's rise is believed. */
const MIN_EVIDENCE_CYCLES = 3;
/** A slope whose 95 % interval is narrower than this share of itself needs only the least span… */
const CONFIDENT_INTERVAL_SHARE = 0.5;
/** …and a wider one proportionally more, up to this many times the least span. */
const MAX_EVIDENCE_FACTOR = 4;
/** The first minutes of a process fill caches, pools and the JIT's code: growth then is normal. */
export const WARMUP_SECONDS = 10 * 60;
/**
 * Growth in warm-up that is far beyond any warm-up: the floor's conservative slope adds this
 * share of the floor every minute without slowing, or the process meets its limit before the
 * warm-up would be over.
 */
const FAST_SHARE_PER_MINUTE = 0.1;

export interface EvidenceFacts {
  /** Span of the series, seconds. */
  durationSeconds: number;
  /** The series' rhythm, if one was found. */
  cycleSeconds: number | undefined;
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
  const requiredSeconds = evidenceSpanSeconds(facts.cycleSeconds) * factor;
  const evidence: Evidence = { requiredSeconds };
  const spanNeeded = requiredSeconds - facts.durationSeconds;
  if (spanNeeded > 0) {
    const cycles =
      facts.cycleSeconds === undefined
        ? ''
        : ` (${MIN_EVIDENCE_CYCLES} of its ${formatDuration(facts.cycleSeconds * 1000)} cycles${factor > 1 ? ', more while the slope is unsure' : ''})`;
    evidence.missing = {
      neededSeconds: spanNeeded,
      reason: `the memory floor rises, but ${formatDuration(facts.durationSeconds * 1000)} of samples is too short to call it a leak${cycles}`,
    };
    return evidence;
  }
  const age = facts.ageSeconds;
  if (age === undefined || age >= WARMUP_SECONDS) return evidence;
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
    neededSeconds: WARMUP_SECONDS - age,
    reason: `started ${formatDuration(age * 1000)} ago: growth in the first ${formatDuration(WARMUP_SECONDS * 1000)} is taken for warm-up`,
  };
  return evidence;
}

/** The least span any verdict about growth needs: several cycles, and never less than minutes. */
export function evidenceSpanSeconds(cycleSeconds: number | undefined): number {
  return Math.max(MIN_EVIDENCE_SECONDS, MIN_EVIDENCE_CYCLES * (cycleSeconds ?? 0));
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
