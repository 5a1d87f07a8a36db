import { MemwardenError } from '../errors.js';

/** An overall time budget on the monotonic clock, from which each step takes its own timeout. */
export class Deadline {
  private readonly endsAt: number;

  constructor(
    readonly totalMs: number,
    private readonly what: string,
  ) {
    this.endsAt = performance.now() + totalMs;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - performance.now());
  }

  /** The smaller of `stepMs` and what is left; throws MW_TIMEOUT when nothing is left. */
  step(stepMs: number): number {
    const left = this.remainingMs();
    if (left <= 0) throw this.expired();
    return Math.max(1, Math.min(stepMs, Math.ceil(left)));
  }

  expired(): MemwardenError {
    return new MemwardenError('MW_TIMEOUT', `${this.what} did not finish within ${this.totalMs} ms`);
  }
}

/** Resolves after `ms`; a plain timer, cleared by its own firing. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
