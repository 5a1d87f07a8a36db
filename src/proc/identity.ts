import type { ProcessIdentity } from './types.js';

/**
 * A process as a map key: its pid and start time, so that a pid the kernel hands to a new
 * process is another key. Every per-process map in memwarden is keyed by this.
 */
export function identityKey(identity: ProcessIdentity): string {
  return `${identity.pid}:${identity.startTicks}`;
}
