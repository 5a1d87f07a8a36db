import { readlinkSync } from 'node:fs';
import { errnoCode, MemwardenError } from '../../errors.js';
import {
  isLoopback,
  isWildcard,
  listenersOf,
  ownerOfInode,
  ProcReader,
  readTcpListeners,
  type TcpListener,
} from '../../proc/index.js';
import { Deadline, pause } from '../deadline.js';
import { assertSameProcess, type RuntimeInfo } from '../detect.js';
import { CdpClient, evaluate } from './cdp.js';
import { fetchTargetPath } from './http.js';
import { inspectorHost, inspectorPort, SIGUSR1_DISABLED, sigusr1Disabled } from './port.js';

export interface InspectorOptions {
  /** The whole session, activation to close. Default 10 s. */
  timeoutMs?: number;
  /** How long to wait for the inspector to listen after SIGUSR1. Default 3 s. */
  activationMs?: number;
  /** WebSocket connect and /json/list. Default 2 s. */
  connectMs?: number;
  /** Each CDP command. Default 5 s. */
  commandMs?: number;
  reader?: ProcReader;
  /** Called right after SIGUSR1 is sent, for the audit log. */
  onActivate?: (pid: number, port: number) => void;
}

export interface InspectorSession {
  pid: number;
  port: number;
  /** The inode of the listening socket, to see it go away after the close. */
  inode: number;
  client: CdpClient;
  /** True when memwarden opened the inspector (and so must close it again). */
  activated: boolean;
  /** How long activation took, SIGUSR1 to a verified connection. */
  activationMs: number;
  /** performance.now() when the inspector was opened (SIGUSR1), for the exposure window. */
  openedAt: number;
  /** `process.version` of the target, e.g. `v20.20.2`. */
  version?: string;
  commandMs: number;
  deadline: Deadline;
}

const POLL_MS = 10;
/** How long the target waits before closing its inspector: ample time for us to disconnect. */
const CLOSE_DELAY_MS = 30;
/** How long after our deadline the target closes an inspector we opened, if we could not. */
const CLOSE_GRACE_MS = 2000;
const REOPEN_CHECK_MS = 300;

function netNamespace(root: string, pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`${root}/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

function reachable(listener: TcpListener): boolean {
  return isLoopback(listener.address) || isWildcard(listener.address);
}

/** The loopback address to dial for a listener: the family it listens on. */
function hostFor(listener: TcpListener): string {
  return listener.family === 6 && !listener.address.includes('ffff') ? '::1' : '127.0.0.1';
}

function ownedListeners(pid: number, root: string): TcpListener[] {
  const listeners = listenersOf(pid, root);
  if (listeners === 'gone') throw new MemwardenError('MW_NO_PROCESS', `pid ${pid} has exited`);
  if (listeners === 'denied') {
    throw new MemwardenError(
      'MW_PERMISSION',
      `cannot list the open files of pid ${pid}, so the inspector's owner cannot be checked (run as its user or root)`,
    );
  }
  return listeners;
}

/** Another process's listener on `port` that stops the target from binding 127.0.0.1:port. */
function blockerOf(
  pid: number,
  port: number,
  root: string,
  owned: ReadonlySet<number>,
): TcpListener | undefined {
  return readTcpListeners({ root, pid }).find(
    (l) =>
      l.port === port &&
      !owned.has(l.inode) &&
      (l.address.startsWith('127.') || l.address === '0.0.0.0' || (l.family === 6 && isWildcard(l.address))),
  );
}

function portTakenError(port: number, pid: number, blocker: TcpListener, root: string): MemwardenError {
  const owner = ownerOfInode(blocker.inode, root);
  const who = owner === undefined ? 'another process' : `pid ${owner}`;
  return new MemwardenError(
    'MW_FAILED',
    `inspector port ${port} is owned by ${who}; pid ${pid} could not open its inspector (nothing was sent to ${who})`,
  );
}

/**
 * Opens a verified inspector session on a Node process: its own already-open inspector, or one
 * opened now with SIGUSR1. "Verified" means the listening socket's inode is among the target's
 * fds and `process.pid` evaluated over it is the target's pid; until both hold, not a single
 * CDP command other than that check is sent. The caller must `closeInspector()` in a finally.
 */
export async function openInspector(
  target: RuntimeInfo,
  options: InspectorOptions = {},
): Promise<InspectorSession> {
  if (options.reader) return openWith(target, options, options.reader);
  const reader = new ProcReader();
  try {
    return await openWith(target, options, reader);
  } finally {
    reader.close();
  }
}

async function openWith(
  target: RuntimeInfo,
  options: InspectorOptions,
  reader: ProcReader,
): Promise<InspectorSession> {
  const root = reader.root;
  const pid = target.pid;
  const deadline = new Deadline(options.timeoutMs ?? 10_000, `the inspector session with pid ${pid}`);
  const connectMs = options.connectMs ?? 2000;
  const commandMs = options.commandMs ?? 5000;

  if (target.runtime !== 'node') {
    throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} is not a Node.js process (${target.runtime})`);
  }
  if (target.protectedReason) {
    throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} is never probed: ${target.protectedReason}`);
  }
  const ours = netNamespace(root, 'self');
  const theirs = netNamespace(root, pid);
  if (ours && theirs && ours !== theirs) {
    throw new MemwardenError(
      'MW_UNSUPPORTED',
      `pid ${pid} lives in another network namespace; its inspector cannot be reached from here`,
    );
  }
  assertSameProcess(target, reader);
  const record = reader.read(pid);
  const cmdline = record?.cmdline ?? [];
  const port = inspectorPort(cmdline, root, pid);

  const before = ownedListeners(pid, root);
  const beforeInodes = new Set(before.map((l) => l.inode));
  const open = before.find((l) => reachable(l) && (port === 0 || l.port === port));
  const started = performance.now();
  let listener: TcpListener;
  let activated = false;
  if (open) {
    listener = open;
  } else {
    const host = inspectorHost(cmdline, root, pid);
    if (host !== undefined && !host.startsWith('127.') && host !== '::1' && host !== 'localhost') {
      throw new MemwardenError(
        'MW_UNSUPPORTED',
        `pid ${pid}'s inspector would listen on ${host}, where other machines reach it; memwarden opens inspectors on loopback only, and nothing was sent`,
      );
    }
    if (sigusr1Disabled(cmdline, root, pid)) {
      throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} ${SIGUSR1_DISABLED}`);
    }
    if (port !== 0) {
      const blocker = blockerOf(pid, port, root, beforeInodes);
      if (blocker) throw portTakenError(port, pid, blocker, root);
    }
    // The last look before the signal: SIGUSR1 kills a process that is not Node.
    assertSameProcess(target, reader);
    try {
      process.kill(pid, 'SIGUSR1');
    } catch (err) {
      if (errnoCode(err) === 'EPERM') {
        throw new MemwardenError(
          'MW_PERMISSION',
          `not allowed to signal pid ${pid} (run as its user or root)`,
        );
      }
      throw new MemwardenError('MW_NO_PROCESS', `pid ${pid} has exited`);
    }
    activated = true;
    options.onActivate?.(pid, port);
    listener = await waitForListener(pid, root, beforeInodes, port, deadline, options.activationMs ?? 3000);
  }

  const host = hostFor(listener);
  let client: CdpClient | undefined;
  try {
    const path = await fetchTargetPath(host, listener.port, deadline.step(connectMs));
    const url = `ws://${host.includes(':') ? `[${host}]` : host}:${listener.port}${path}`;
    client = await CdpClient.connect(url, deadline.step(connectMs));
    const remotePid = await evaluate(client, 'process.pid', deadline.step(commandMs));
    if (remotePid !== pid) {
      throw new MemwardenError(
        'MW_FAILED',
        `the inspector on port ${listener.port} answers for pid ${String(remotePid)}, not ${pid}; nothing else was sent`,
      );
    }
    if (activated) {
      // A dead man's switch: should this session be cut off (memwarden killed, the target
      // blocked until our timeout), the target still closes the inspector once its loop turns.
      await armClose(client, deadline.remainingMs() + CLOSE_GRACE_MS, deadline.step(commandMs));
    }
    const version = await evaluate(client, 'process.version', deadline.step(commandMs));
    const session: InspectorSession = {
      pid,
      port: listener.port,
      inode: listener.inode,
      client,
      activated,
      activationMs: performance.now() - started,
      openedAt: started,
      commandMs,
      deadline,
    };
    if (typeof version === 'string') session.version = version;
    return session;
  } catch (err) {
    if (client) await shutDown(client, activated, pid, root, listener.inode);
    throw err;
  }
}

/**
 * Schedules `inspector.close()` in the target after `delayMs`, replacing any earlier schedule;
 * the timers are unref'd so that they never keep the target alive. A SIGUSR1 that arrived while
 * the target was busy is acted on a second time when its loop turns, which can reopen the
 * inspector right after the close: one more look, a moment later, closes it again.
 */
function armClose(client: CdpClient, delayMs: number, timeoutMs: number): Promise<unknown> {
  const expression = `(() => {
    const key = Symbol.for('memwarden.closeInspector');
    const inspector = require('node:inspector');
    const later = (fn, ms) => { globalThis[key] = setTimeout(fn, ms); globalThis[key].unref(); };
    clearTimeout(globalThis[key]);
    later(() => {
      inspector.close();
      later(() => { delete globalThis[key]; if (inspector.url()) inspector.close(); }, ${REOPEN_CHECK_MS});
    }, ${Math.round(delayMs)});
  })()`;
  return evaluate(client, expression, timeoutMs);
}

async function waitForListener(
  pid: number,
  root: string,
  beforeInodes: ReadonlySet<number>,
  port: number,
  deadline: Deadline,
  activationMs: number,
): Promise<TcpListener> {
  const waitMs = deadline.step(activationMs);
  const until = performance.now() + waitMs;
  for (;;) {
    // Only on the expected port: a server the app opens at the same moment is not the inspector.
    const fresh = ownedListeners(pid, root).find(
      (l) => !beforeInodes.has(l.inode) && reachable(l) && (port === 0 || l.port === port),
    );
    if (fresh) return fresh;
    if (performance.now() >= until) break;
    await pause(POLL_MS);
  }
  if (port !== 0) {
    const blocker = blockerOf(pid, port, root, beforeInodes);
    if (blocker) throw portTakenError(port, pid, blocker, root);
  }
  throw new MemwardenError(
    'MW_TIMEOUT',
    `the inspector of pid ${pid} did not open within ${Math.round(waitMs)} ms after SIGUSR1 ` +
      '(it may handle SIGUSR1 itself or run with --disable-sigusr1)',
  );
}

/** Closes the connection and, if memwarden opened the inspector, the inspector too. */
async function shutDown(
  client: CdpClient,
  activated: boolean,
  pid: number,
  root: string,
  inode: number,
): Promise<boolean> {
  if (!activated) {
    await client.closeGracefully(500);
    return true;
  }
  // inspector.close() run while a session is still attached, from inside its dispatch or
  // beside its disconnect, was seen to crash Node 20 (SIGSEGV). So the target is asked to close
  // a little later, from its own event loop, and the session ends right now: by then nobody is
  // attached and the close is the ordinary one. The command-line API's `require` exists in
  // CommonJS and ESM targets alike.
  await armClose(client, CLOSE_DELAY_MS, 1000).catch(() => undefined);
  await client.closeGracefully(1000);
  const until = performance.now() + CLOSE_DELAY_MS + 2000;
  for (;;) {
    const inodes = listenersOf(pid, root);
    if (typeof inodes === 'string' || !inodes.some((l) => l.inode === inode)) return true;
    if (performance.now() >= until) return false;
    await pause(POLL_MS);
  }
}

/**
 * Ends a session: closes the WebSocket always, and the inspector inside the target when
 * memwarden opened it. Resolves true when the port is verified closed (or was not ours to close).
 */
export function closeInspector(session: InspectorSession, root = '/proc'): Promise<boolean> {
  return shutDown(session.client, session.activated, session.pid, root, session.inode);
}
