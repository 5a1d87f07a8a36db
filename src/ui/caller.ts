import type { Socket } from 'node:net';
import { connectionPeerUid, type ProcessCredentials, userName } from '../proc/index.js';

/** Who sent a state-changing request: the holder of the configured token, or a local user. */
export type Caller = { kind: 'token' } | { kind: 'user'; uid: number };

/**
 * The local user behind a connection: the owner of the client's socket, as the kernel lists it.
 * Undefined when the client is not on this machine's loopback in our network namespace.
 */
export function localCaller(socket: Socket): Caller | undefined {
  const uid = connectionPeerUid(socket);
  return uid === undefined ? undefined : { kind: 'user', uid };
}

export function describeCaller(caller: Caller): string {
  return caller.kind === 'token' ? 'the token holder' : `uid ${caller.uid} (${userName(caller.uid)})`;
}

/**
 * The kernel's own test for ptrace, which is what a gc or snapshot amounts to: root may act on
 * anything; anyone else only on a process whose real, effective and saved uids are all theirs
 * and whose gids show no set-gid in effect, so a set-id program is nobody's but root's.
 */
export function mayActOn(uid: number, target: ProcessCredentials): boolean {
  if (uid === 0) return true;
  const [real, effective, saved] = target.uids;
  const [gReal, gEffective, gSaved] = target.gids;
  return real === uid && effective === uid && saved === uid && gEffective === gReal && gSaved === gReal;
}
