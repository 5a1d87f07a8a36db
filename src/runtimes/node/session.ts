import { readlinkSync } from 'node:fs';
import { errnoCode, MemwardenError } from '../../errors.js';
import {
  isLoopback,
  isWildcard,
  listenersOf,
  ownerOfInode,
  ProcReader,
  readTcpListeners,
  readTcpSockets,
  type TcpListener,
} from '../../proc/index.js';
import { Deadline, pause } from '../deadline.js';
import { assertSameProcess, type RuntimeInfo } from '../detect.js';
import { CdpClient, evaluate } from './cdp.js';
import { fetchTargetPath } from './http.js';
import { exposedHost, inspectorFlags, SIGUSR1_DISABLED } from './port.js';

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
  /** Where the inspector listens, as written for a person: `127.0.0.1`, `[::1]`. */
  address: string;
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
  /** Client sockets connected to the port before the session began: not an intrusion. */
  earlierPeers: ReadonlySet<string>;
  /** Our own client sockets' local ports (the /json/list request and the WebSocket). */
  ownPorts: ReadonlySet<number>;
}

/** A client of the inspector that is not memwarden: `uid` is unknown once it has closed. */
export interface ForeignConnection {
  port: number;
  uid?: number;
}

/** Every millisecond the inspector listens before we connect, or after we are done, counts. */
const POLL_MS = 2;
/** How long the target waits before closing its inspector: ample time for us to disconnect. */
const CLOSE_DELAY_MS = 30;
/** How long after our deadline the target closes an inspector we opened, if we could not. */
const CLOSE_GRACE_MS = 2000;
const TCP_LISTEN = '0A';

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

/** How a listener's address is written for a person: `127.0.0.1`, `[::1]`, `[::]`. */
function shownAddress(listener: TcpListener): string {
  if (listener.family === 4) return listener.address;
  if (isWildcard(listener.address)) return '[::]';
  return isLoopback(listener.address) ? '[::1]' : `[${listener.address}]`;
}

/**
 * Every connection to `port` in the target's namespace, keyed by its client's address:port. A
 * connection shows as its client's socket, its server's (the target's), or both; whichever side
 * closed first stays a while in time-wait. Only the client's socket, while open, tells the uid.
 */
function peersOf(pid: number, root: string, port: number): Map<string, { port: number; uid?: number }> {
  const peers = new Map<string, { port: number; uid?: number }>();
  for (const s of readTcpSockets({ root, pid, port })) {
    if (s.state === TCP_LISTEN) continue;
    const client = s.remote.port === port ? s.local : s.local.port === port ? s.remote : undefined;
    if (!client) continue;
    const key = `${client.address}:${client.port}`;
    const clientSide = client === s.local && s.inode > 0;
    if (clientSide || !peers.has(key)) {
      peers.set(key, { port: client.port, ...(clientSide ? { uid: s.uid } : {}) });
    }
  }
  return peers;
}

/**
 * Connections to the inspector that are neither ours nor older than the session: another local
 * user who reached the window (scenario 40a). Node accepts any number of sessions, so this can
 * be seen, not prevented; it is looked for once the inspector is closed, since reading
 * /proc/net/tcp on a busy host takes longer than the window itself.
 */
export function foreignConnections(session: InspectorSession, root = '/proc'): ForeignConnection[] {
  const found: ForeignConnection[] = [];
  for (const [key, peer] of peersOf(session.pid, root, session.port)) {
    if (!session.earlierPeers.has(key) && !session.ownPorts.has(peer.port)) found.push(peer);
  }
  return found;
}

/** `1 other connection reached it (uid 65534)`, for messages. */
export function describeForeign(found: readonly ForeignConnection[]): string {
  const uids = [...new Set(found.map((f) => (f.uid === undefined ? 'closed' : `uid ${f.uid}`)))];
  return `${found.length} other connection${found.length === 1 ? '' : 's'} reached it (${uids.join(', ')})`;
}

/** The address to dial for a listener: loopback in its family, or its own address when it has one. */
function hostFor(listener: TcpListener): string {
  if (!reachable(listener)) return listener.address;
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
    throw new MemwardenError('MW_PROTECTED', `pid ${pid} is never probed: ${target.protectedReason}`);
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
  const flags = inspectorFlags(cmdline, root, pid);
  if (!flags) {
    throw new MemwardenError(
      'MW_PERMISSION',
      `cannot read the environment of pid ${pid}, so the host its inspector would listen on (NODE_OPTIONS) is unknown; nothing was sent`,
    );
  }
  const port = flags.address.port;

  const before = ownedListeners(pid, root);
  const beforeInodes = new Set(before.map((l) => l.inode));
  const open = before.find((l) => reachable(l) && (port === 0 || l.port === port));
  let started = performance.now();
  let listener: TcpListener;
  let activated = false;
  let earlierPeers: ReadonlySet<string>;
  if (open) {
    listener = open;
    earlierPeers = new Set(peersOf(pid, root, open.port).keys());
  } else {
    const exposed = exposedHost(flags);
    if (exposed !== undefined) {
      throw new MemwardenError(
        'MW_UNSUPPORTED',
        `pid ${pid}'s flags name the inspector host ${exposed}, which is not loopback; memwarden opens inspectors on loopback only, and nothing was sent`,
      );
    }
    if (flags.sigusr1Disabled) {
      throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} ${SIGUSR1_DISABLED}`);
    }
    if (port !== 0) {
      const blocker = blockerOf(pid, port, root, beforeInodes);
      if (blocker) throw portTakenError(port, pid, blocker, root);
    }
    earlierPeers = new Set(port === 0 ? [] : peersOf(pid, root, port).keys());
    // The last look before the signal: SIGUSR1 kills a process that is not Node.
    assertSameProcess(target, reader);
    started = performance.now();
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
  const ownPorts = new Set<number>();
  let client: CdpClient | undefined;
  try {
    const list = await fetchTargetPath(host, listener.port, deadline.step(connectMs));
    if (list.localPort !== undefined) ownPorts.add(list.localPort);
    const url = `ws://${host.includes(':') ? `[${host}]` : host}:${listener.port}${list.path}`;
    client = await CdpClient.connect(url, deadline.step(connectMs));
    if (client.localPort !== undefined) ownPorts.add(client.localPort);
    const remotePid = await evaluate(client, 'process.pid', deadline.step(commandMs));
    if (remotePid !== pid) {
      throw new MemwardenError(
        'MW_FAILED',
        `the inspector on port ${listener.port} answers for pid ${String(remotePid)}, not ${pid}; nothing else was sent`,
      );
    }
    if (activated) {
      // A dead man's switch: should this session be cut off (memwarden killed, the target
      // spinning past our timeout), the target still closes the inspector.
      await armCloser(client, deadline.remainingMs() + CLOSE_GRACE_MS, deadline.step(commandMs));
    }
    const session: InspectorSession = {
      pid,
      address: shownAddress(listener),
      port: listener.port,
      inode: listener.inode,
      client,
      activated,
      activationMs: performance.now() - started,
      openedAt: started,
      commandMs,
      deadline,
      earlierPeers,
      ownPorts,
    };
    if (activated && !isLoopback(listener.address)) {
      throw new MemwardenError(
        'MW_UNSUPPORTED',
        `pid ${pid} opened its inspector on ${shownAddress(listener)}:${listener.port} although its flags name loopback (its host was changed at run time); memwarden closes it at once and sent nothing else`,
      );
    }
    const version = await evaluate(client, 'process.version', deadline.step(commandMs));
    if (typeof version === 'string') session.version = version;
    return session;
  } catch (err) {
    const closed = client
      ? await shutDown(client, activated, pid, root, listener.inode)
      : !activated || !stillListening(pid, root, listener.inode);
    if (!closed && err instanceof MemwardenError) {
      throw stillOpen(err, { address: shownAddress(listener), port: listener.port });
    }
    throw err;
  }
}

/** The same failure, saying honestly that the inspector memwarden opened may still listen. */
export function stillOpen(err: MemwardenError, at: { address: string; port: number }): MemwardenError {
  return new MemwardenError(
    err.code,
    `${err.message}; the inspector may still be open on ${at.address}:${at.port}`,
    { cause: err },
  );
}

const CLOSER_KEY = "Symbol.for('memwarden.inspectorCloser')";

/**
 * The closer's own thread, inside the target. It reaches the main thread through an in-process
 * inspector session, whose commands V8 runs on interrupts: a main thread spinning in
 * `while (true)` still closes. It closes only the inspector it was armed for (its URL names
 * the activation), never one a later activation opened; and once it did, it looks again when
 * the event loop has turned (see armCloser).
 */
const CLOSER_THREAD = `(async () => {
  // import(), not require: a worker inherits --input-type=module, and this must run either way.
  const { parentPort, workerData } = await import('node:worker_threads');
  const { Session } = await import('node:inspector');
  let closing;
  const close = () => {
    closing ??= (async () => {
      const session = new Session();
      session.connectToMainThread();
      const run = (expression, awaitPromise = false) => new Promise((resolve) =>
        session.post('Runtime.evaluate', { expression, awaitPromise, includeCommandLineAPI: true, silent: true, returnByValue: true },
          (err, answer) => resolve(answer?.result?.value)));
      const armed = JSON.stringify(workerData.armedUrl);
      if (await run('require("node:inspector").url() === ' + armed + ' && (require("node:inspector").close(), true)')) {
        await run('new Promise((resolve) => setImmediate(resolve))', true);
        await run('require("node:inspector").url() === undefined || require("node:inspector").close()');
      }
      session.disconnect();
      process.exit(0);
    })();
  };
  const deadman = setTimeout(close, workerData.deadmanMs);
  parentPort.once('message', (delayMs) => { clearTimeout(deadman); setTimeout(close, delayMs); });
})();
`;

/**
 * Arms a closer in the target: told to close (or after `deadmanMs` if it never is, should
 * memwarden be cut off), it closes the inspector from the event loop, which is quickest when
 * the loop turns, and from a worker thread, which also works when it never does; where no
 * worker can start (the permission model), the event loop alone is left. A SIGUSR1 that arrived
 * while the target was busy is acted on a second time when its event loop turns (its poll
 * phase), which reopens the inspector right after the close; a look from `setImmediate`, later
 * in that same turn, closes it again. Each closes only the inspector it was armed for, so a
 * closer that comes late never closes the next activation's. Replaces any closer armed before;
 * nothing of it keeps the target alive.
 */
function armCloser(client: CdpClient, deadmanMs: number, timeoutMs: number): Promise<unknown> {
  const expression = `(() => {
    const key = ${CLOSER_KEY};
    globalThis[key]?.stop();
    const inspector = require('node:inspector');
    const armedUrl = inspector.url();
    let timer;
    let worker;
    const onLoop = (ms) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (inspector.url() !== armedUrl) return;
        inspector.close();
        setImmediate(() => { if (inspector.url()) inspector.close(); });
      }, ms);
      timer.unref();
    };
    try {
      const { Worker } = require('node:worker_threads');
      worker = new Worker(${JSON.stringify(CLOSER_THREAD)}, { eval: true, workerData: { deadmanMs: ${Math.round(deadmanMs)}, armedUrl } });
      worker.unref();
      worker.on('error', () => {});
      worker.on('exit', () => { if (globalThis[key]?.worker === worker) delete globalThis[key]; });
    } catch {
      worker = undefined;
    }
    onLoop(${Math.round(deadmanMs)});
    globalThis[key] = {
      worker,
      close: (ms) => { onLoop(ms); worker?.postMessage(ms); },
      stop: () => { clearTimeout(timer); worker?.terminate(); },
    };
    return worker ? 'thread and loop' : 'loop';
  })()`;
  return evaluate(client, expression, timeoutMs);
}

/** Tells the armed closer to close the inspector after `delayMs`. */
function requestClose(client: CdpClient, delayMs: number, timeoutMs: number): Promise<unknown> {
  return evaluate(client, `globalThis[${CLOSER_KEY}]?.close(${delayMs})`, timeoutMs);
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
    // Any address: one the target chose at run time must be found, to be closed again.
    const fresh = ownedListeners(pid, root).find(
      (l) => !beforeInodes.has(l.inode) && (port === 0 || l.port === port),
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
  // beside its disconnect, was seen to crash Node 20 (SIGSEGV). So the target's closer is told
  // to close a little later, and the session ends right now: by then nobody is attached and the
  // close is the ordinary one. The command-line API's `require` exists in CommonJS and ESM
  // targets alike.
  await requestClose(client, CLOSE_DELAY_MS, 1000).catch(() => undefined);
  await client.closeGracefully(1000);
  const until = performance.now() + CLOSE_DELAY_MS + 2000;
  for (;;) {
    if (!stillListening(pid, root, inode)) return true;
    if (performance.now() >= until) return false;
    await pause(POLL_MS);
  }
}

function stillListening(pid: number, root: string, inode: number): boolean {
  const listeners = listenersOf(pid, root);
  return typeof listeners !== 'string' && listeners.some((l) => l.inode === inode);
}

/**
 * Ends a session: closes the WebSocket always, and the inspector inside the target when
 * memwarden opened it. Resolves true when the port is verified closed (or was not ours to close).
 */
export function closeInspector(session: InspectorSession, root = '/proc'): Promise<boolean> {
  return shutDown(session.client, session.activated, session.pid, root, session.inode);
}
