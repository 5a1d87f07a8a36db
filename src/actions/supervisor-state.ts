/** What a supervisor keeps across watcher restarts. Times are wall-clock: a monotonic one dies with the process. */
export interface PersistedSupervisorState {
  name: string;
  /** Wall-clock ms of each restart still inside the window when saved. */
  restartWallMs: number[];
  gaveUp: boolean;
  /** The process it had started, left running when the watcher stopped: the next one follows it. */
  child?: { pid: number; startTicks: number };
}

/**
 * Where supervisors keep that state: the history file, in the daemon. A save must not throw and
 * must be durable before the next restart can happen (the store commits it within the turn).
 */
export interface SupervisorStateStore {
  supervisor(name: string): PersistedSupervisorState | undefined;
  saveSupervisor(state: PersistedSupervisorState): void;
}
