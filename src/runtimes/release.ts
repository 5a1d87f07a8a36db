import { formatBytes, formatDuration } from '../units/index.js';
import type { RuntimeKind } from './detect.js';
import type { ReleaseStep, RuntimeGcOutcome } from './probe.js';

/** Less than this share of the RSS given back counts as "little came back". */
const LITTLE_FRACTION = 0.1;

/** The RSS figures of a release, read off its steps and the reads around the whole. */
export interface ReleaseFigures {
  rssBefore?: number;
  /** Right after the runtime's collection. */
  rssAfterCollect?: number;
  /** Right after the allocator's trim, when it ran. */
  rssAfterTrim?: number;
  rssAfter?: number;
  /** rssBefore − rssAfter: what reached the operating system (negative when the RSS grew). */
  freedBytes?: number;
  /** When little came back: the likely reason, in words for a person. */
  reason?: string;
}

function stepNamed(steps: readonly ReleaseStep[], name: ReleaseStep['step']): ReleaseStep | undefined {
  return steps.find((s) => s.step === name);
}

/** rssBefore − rssAfter of a step, when both were read. */
export function stepFreed(step: ReleaseStep): number | undefined {
  return step.rssBefore === undefined || step.rssAfter === undefined
    ? undefined
    : step.rssBefore - step.rssAfter;
}

function number(details: Record<string, unknown> | undefined, key: string): number | undefined {
  const value = details?.[key];
  return typeof value === 'number' ? value : undefined;
}

/**
 * Why a release gave little back, judged from what each step saw: a trim that could not run, a
 * collector that found nothing (live data), a V8 heap still full, pymalloc's arenas.
 */
function likelyReason(runtime: RuntimeKind, outcome: RuntimeGcOutcome): string {
  const collect = stepNamed(outcome.steps, 'collect');
  const trim = stepNamed(outcome.steps, 'trim');
  const collected = number(collect?.details, 'collected');
  if (runtime === 'python' && collected === 0) {
    return 'the collector found no garbage: what the process holds is live data';
  }
  if (
    runtime === 'node' &&
    outcome.heapUsedBefore !== undefined &&
    outcome.heapUsedAfter !== undefined &&
    outcome.heapUsedAfter > outcome.heapUsedBefore * 0.8
  ) {
    return 'live data: the V8 heap is still mostly in use after a full collection';
  }
  if (trim !== undefined && !trim.ran) {
    const why = trim.error ?? trim.skipped ?? 'it did not run';
    return `the heap was not trimmed (${why}): memory the collection freed stays in the process's malloc`;
  }
  if (runtime === 'python') {
    const blocks = number(collect?.details, 'allocatedBlocksAfter');
    return `pymalloc arenas still in use: small objects (≤ 512 bytes) go back only as whole arenas, and ${blocks ?? 'the'} live blocks pin them; or the rest is live data`;
  }
  if (runtime === 'native') {
    return 'the free memory sits between live allocations (fragmentation), or the process holds it as live data';
  }
  return 'the process holds the memory as live data, or its free memory is fragmented';
}

/** The figures of a release: RSS before, after each step, after all, and why little came back. */
export function releaseFigures(
  runtime: RuntimeKind,
  outcome: RuntimeGcOutcome,
  rssBefore: number | undefined,
  rssAfter: number | undefined,
): ReleaseFigures {
  const figures: ReleaseFigures = {};
  const collect = stepNamed(outcome.steps, 'collect');
  const trim = stepNamed(outcome.steps, 'trim');
  if (rssBefore !== undefined) figures.rssBefore = rssBefore;
  if (collect?.ran && collect.rssAfter !== undefined) figures.rssAfterCollect = collect.rssAfter;
  if (trim?.ran && trim.rssAfter !== undefined) figures.rssAfterTrim = trim.rssAfter;
  if (rssAfter !== undefined) figures.rssAfter = rssAfter;
  if (rssBefore !== undefined && rssAfter !== undefined) {
    figures.freedBytes = rssBefore - rssAfter;
    if (figures.freedBytes < rssBefore * LITTLE_FRACTION) figures.reason = likelyReason(runtime, outcome);
  }
  return figures;
}

function change(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined) return `${formatBytes(before)} → ${formatBytes(after)}`;
  const delta = after - before;
  return `${formatBytes(before)} → ${formatBytes(after)} (${delta <= 0 ? '−' : '+'}${formatBytes(Math.abs(delta))})`;
}

/** What one step did, on one line: `trim  malloc_trim(0) through lldb (glibc): 374 MiB → 48 MiB (−326 MiB), 1.2s`. */
export function stepLine(step: ReleaseStep): string {
  const name = step.step.padEnd(7);
  if (step.error !== undefined) return `${name} FAILED: ${step.error}`;
  if (!step.ran) return `${name} not done: ${step.skipped ?? 'no reason given'}`;
  const parts = [`RSS ${change(step.rssBefore, step.rssAfter)}`];
  const collected = number(step.details, 'collected');
  if (collected !== undefined) parts.push(`${collected} objects collected`);
  const heapBefore = number(step.details, 'heapUsedBefore');
  if (heapBefore !== undefined) {
    parts.push(`V8 heap used ${change(heapBefore, number(step.details, 'heapUsedAfter'))}`);
  }
  if (step.details?.released === false) parts.push('the allocator said nothing could be released');
  if (step.durationMs !== undefined) parts.push(formatDuration(step.durationMs));
  const allocator = step.allocator === undefined ? '' : ` (${step.allocator})`;
  return `${name} ${step.via ?? ''}${allocator}: ${parts.join(', ')}`;
}

/** The whole release in one sentence, for logs and action results. */
export function releaseLine(r: ReleaseFigures & Pick<RuntimeGcOutcome, 'steps'>): string {
  const steps = r.steps
    .filter((s) => s.ran)
    .map((s) => {
      const freed = stepFreed(s);
      return `${s.step} ${freed === undefined ? '?' : `${freed < 0 ? '+' : '−'}${formatBytes(Math.abs(freed))}`}`;
    });
  const notDone = r.steps.filter((s) => !s.ran).map((s) => `${s.step} ${s.error ? 'failed' : 'not done'}`);
  const detail = [...steps, ...notDone].join(', ');
  return `RSS ${change(r.rssBefore, r.rssAfter)}${detail === '' ? '' : ` (${detail})`}${r.reason ? `; ${r.reason}` : ''}`;
}
