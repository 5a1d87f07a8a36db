import type { GuardDecision, GuardEnd, GuardStep } from '../../src/watch/guard.js';
import type { Watcher } from '../../src/watch/watcher.js';

/** Every guard event a watcher emits, and the first chain's end. */
export function guardEvents(watcher: Watcher): {
  events: (GuardDecision | GuardStep | GuardEnd)[];
  ended: Promise<GuardEnd>;
} {
  const events: (GuardDecision | GuardStep | GuardEnd)[] = [];
  const ended = new Promise<GuardEnd>((resolve) =>
    watcher.on('guard', (e) => {
      events.push(e);
      if (e.kind === 'guard-end') resolve(e);
    }),
  );
  return { events, ended };
}
