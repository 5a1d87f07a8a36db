import { readlinkSync } from 'node:fs';
import { errnoCode } from '../../errors.js';
import { isLoopback, isWildcard, type ProcReader, readTcpListeners, socketInodes } from '../../proc/index.js';
import type { RuntimeInfo } from '../detect.js';
import { exposedHost, inspectorFlags, SIGUSR1_DISABLED } from './port.js';

/** Whether the inspector path can work on a Node process, and the one-line reason. */
export interface InspectorAvailability {
  possible: boolean;
  /** How the probe would run: `inspector on port 9229 (opened with SIGUSR1, closed after)`. */
  via?: string;
  reason: string;
}

function sameNetNamespace(root: string, pid: number): boolean {
  try {
    return readlinkSync(`${root}/self/ns/net`) === readlinkSync(`${root}/${pid}/ns/net`);
  } catch {
    return true;
  }
}

/** What `inspect` reports for a Node process, read without sending it anything but signal 0. */
export function inspectorAvailability(target: RuntimeInfo, reader: ProcReader): InspectorAvailability {
  const root = reader.root;
  const pid = target.pid;
  if (target.runtime !== 'node') return { possible: false, reason: `not Node.js (${target.runtime})` };
  if (target.protectedReason) return { possible: false, reason: `protected: ${target.protectedReason}` };
  if (!sameNetNamespace(root, pid)) return { possible: false, reason: 'in another network namespace' };
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (errnoCode(err) === 'EPERM')
      return { possible: false, reason: 'not allowed to signal it (run as its user or root)' };
    return { possible: false, reason: 'the process has exited' };
  }
  const inodes = socketInodes(pid, root);
  if (inodes === 'gone') return { possible: false, reason: 'the process has exited' };
  if (inodes === 'denied') {
    return {
      possible: false,
      reason: "cannot list its open files, so the inspector's owner cannot be checked",
    };
  }
  const cmdline = reader.read(pid)?.cmdline ?? [];
  const flags = inspectorFlags(cmdline, root, pid);
  if (!flags) {
    return { possible: false, reason: 'cannot read its environment, so its NODE_OPTIONS cannot be checked' };
  }
  const port = flags.address.port;
  const listeners = readTcpListeners({ root, pid });
  const open = listeners.find(
    (l) =>
      inodes.has(l.inode) &&
      (isLoopback(l.address) || isWildcard(l.address)) &&
      (port === 0 || l.port === port),
  );
  if (open) {
    return {
      possible: true,
      via: `its open inspector on port ${open.port} (left open afterwards)`,
      reason: 'the inspector is already open',
    };
  }
  const exposed = exposedHost(flags);
  if (exposed !== undefined) {
    return { possible: false, reason: `its flags name the inspector host ${exposed}, which is not loopback` };
  }
  if (flags.sigusr1Disabled) return { possible: false, reason: `it ${SIGUSR1_DISABLED}` };
  const blocker = listeners.find((l) => l.port === port && !inodes.has(l.inode));
  if (blocker) {
    return {
      possible: false,
      reason: `port ${port} is held by another process, so its inspector cannot open now`,
    };
  }
  return {
    possible: true,
    via: `inspector on port ${port === 0 ? 'chosen by the kernel' : port} (opened with SIGUSR1, closed after)`,
    reason: 'unless it handles SIGUSR1 itself',
  };
}
