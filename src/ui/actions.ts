/** What the dashboard and `top` may ask of a process's runtime. */
export type RequestedAction = 'gc' | 'snapshot';

export interface ActionRequest {
  pid: number;
  /** The start time (clock ticks since boot) the asker saw: a pid reused since then is not it. */
  startTicks?: number;
  action: RequestedAction;
  /** Who asked, for the record: `uid 1000 (alice)`, `the token holder`. */
  askedBy?: string;
}

export interface RequestOutcome {
  ok: boolean;
  /** One line for the user: what happened, or why not. */
  message: string;
}

/**
 * Carries out an action; whoever runs the view provides it (the watcher's action runner, or the
 * runtime probes for `top`), so that ui/ only draws. Must not throw for an expected failure.
 */
export type ActionHandler = (request: ActionRequest) => Promise<RequestOutcome>;

export function isRequestedAction(value: unknown): value is RequestedAction {
  return value === 'gc' || value === 'snapshot';
}
