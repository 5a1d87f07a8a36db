import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_STATE_HOME/memwarden/history.db`, or `~/.local/state/memwarden/history.db`. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec says a relative value is invalid and must be ignored.
  const stateHome = env.XDG_STATE_HOME?.startsWith('/')
    ? env.XDG_STATE_HOME
    : join(env.HOME || homedir(), '.local', 'state');
  return join(stateHome, 'memwarden', 'history.db');
}
