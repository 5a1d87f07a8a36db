/** What the dashboard and `top` may ask of a process's runtime. */
export type ActionKind = 'gc' | 'snapshot';

export interface ActionRequest {
  pid: number;
  /** The start time (clock ticks since boot) the asker saw: a pid reused since then is not it. */
  startTicks?: number;
  action: ActionKind;
}

export interface ActionResult {
  ok: boolean;
  /** One line for the user: what happened, or why not. */
  message: string;
}

/** Carries out an action; the runtimes part provides it. Must not throw for an expected failure. */
export type ActionHandler = (request: ActionRequest) => Promise<ActionResult>;

export function isActionKind(value: unknown): value is ActionKind {
  return value === 'gc' || value === 'snapshot';
}

/** The stand-in until runtime probes are wired in: says so instead of pretending. */
export const unavailableActions: ActionHandler = async (request) => ({
  ok: false,
  message: `${request.action} is not available in this build (no runtime probes)`,
});
