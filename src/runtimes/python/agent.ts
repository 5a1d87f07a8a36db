import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { MemwardenError } from '../../errors.js';
import { environOf } from '../target-checks.js';
import type { ProbeCommand } from './payload.js';

/** Largest answer line accepted from an agent. */
const ANSWER_CAP_BYTES = 32 * 1024 * 1024;

export type AgentLookup = { socket: string } | { socket?: undefined; reason: string };

/**
 * Finds the memwarden_agent socket of `pid`, in the places the agent uses: the target's
 * $XDG_RUNTIME_DIR (or /run/user/<uid>) under `memwarden/`, else /tmp/memwarden-<uid>/. A socket
 * counts only if it and its directory belong to the target's user, nobody else can write the
 * directory, and (when /proc lets us look) the target itself holds the listening socket: a file
 * planted by someone else at that path is never spoken to.
 */
export function findAgentSocket(pid: number, uid: number): AgentLookup {
  const runtimeDirs = new Set<string>();
  const xdg = environOf(pid)?.get('XDG_RUNTIME_DIR');
  if (xdg) runtimeDirs.add(xdg);
  runtimeDirs.add(`/run/user/${uid}`);
  const candidates = [
    ...[...runtimeDirs].map((dir) => join(dir, 'memwarden', `agent-${pid}.sock`)),
    `/tmp/memwarden-${uid}/agent-${pid}.sock`,
  ];
  const refusals: string[] = [];
  for (const path of candidates) {
    const refusal = socketRefusal(path, pid, uid);
    if (refusal === undefined) return { socket: path };
    if (refusal !== 'absent') refusals.push(`${path}: ${refusal}`);
  }
  return {
    reason:
      refusals.length > 0
        ? `agent socket refused (${refusals.join('; ')})`
        : 'no memwarden_agent socket (start the target with `python -m memwarden_agent`)',
  };
}

function socketRefusal(path: string, pid: number, uid: number): string | undefined {
  let socket: ReturnType<typeof lstatSync>;
  let dir: ReturnType<typeof lstatSync>;
  try {
    socket = lstatSync(path);
    dir = lstatSync(dirname(path));
  } catch {
    return 'absent';
  }
  if (!socket.isSocket()) return 'not a socket';
  if (socket.uid !== uid) return `owned by uid ${socket.uid}, not the target's ${uid}`;
  if (!dir.isDirectory() || dir.uid !== uid || (dir.mode & 0o022) !== 0) {
    return 'its directory is not private to the target user';
  }
  const held = heldByProcess(path, pid);
  if (held === false) return `not held by pid ${pid} (stale, or someone else's)`;
  return undefined;
}

/**
 * Whether `pid` has an fd on the listening socket bound at `path` (its inode in /proc/net/unix
 * matched against /proc/<pid>/fd); undefined when /proc will not tell us.
 */
function heldByProcess(path: string, pid: number): boolean | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/net/unix', 'latin1');
  } catch {
    return undefined;
  }
  const inodes = new Set<string>();
  for (const line of table.split('\n')) {
    // Num RefCount Protocol Flags Type St Inode Path
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 8 && fields.slice(7).join(' ') === path && fields[6]) inodes.add(fields[6]);
  }
  // Not in our network namespace's table: /proc cannot say, the answer's pid will.
  if (inodes.size === 0) return undefined;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const link = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (link !== undefined && inodes.has(link)) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** Asks the agent one question and returns its `result`; every failure is a MemwardenError. */
export function askAgent(
  socket: string,
  pid: number,
  command: ProbeCommand,
  args: Readonly<Record<string, number>>,
  timeoutMs: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const connection = createConnection({ path: socket });
    const chunks: Buffer[] = [];
    let length = 0;
    const fail = (err: MemwardenError) => {
      connection.destroy();
      clearTimeout(timer);
      reject(err);
    };
    const timer = setTimeout(
      () =>
        fail(
          new MemwardenError('MW_TIMEOUT', `the agent of pid ${pid} did not answer within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    connection.once('connect', () => connection.write(`${JSON.stringify({ command, args })}\n`));
    connection.on('data', (chunk: Buffer) => {
      const newline = chunk.indexOf(0x0a);
      chunks.push(newline >= 0 ? chunk.subarray(0, newline) : chunk);
      length += chunk.length;
      if (newline >= 0) {
        connection.destroy();
        clearTimeout(timer);
        try {
          resolve(agentResult(Buffer.concat(chunks).toString('utf8'), pid));
        } catch (err) {
          reject(err);
        }
      } else if (length > ANSWER_CAP_BYTES) {
        fail(
          new MemwardenError('MW_INPUT', `the agent of pid ${pid} sent more than ${ANSWER_CAP_BYTES} bytes`),
        );
      }
    });
    connection.once('error', (err) =>
      fail(
        new MemwardenError(
          'MW_FAILED',
          `could not talk to the agent of pid ${pid} at ${socket}: ${err.message}`,
        ),
      ),
    );
    connection.once('end', () =>
      fail(
        new MemwardenError('MW_FAILED', `the agent of pid ${pid} closed the connection without answering`),
      ),
    );
  });
}

function agentResult(line: string, pid: number): unknown {
  let answer: unknown;
  try {
    answer = JSON.parse(line);
  } catch {
    throw new MemwardenError('MW_INPUT', `the agent of pid ${pid} answered with something that is not JSON`);
  }
  if (typeof answer !== 'object' || answer === null) {
    throw new MemwardenError(
      'MW_INPUT',
      `the agent of pid ${pid} answered with something that is not an object`,
    );
  }
  const { ok, pid: answeredPid, result, error } = answer as Record<string, unknown>;
  if (answeredPid !== pid) {
    throw new MemwardenError('MW_FAILED', `the socket answered for pid ${String(answeredPid)}, not ${pid}`);
  }
  if (ok !== true) throw new MemwardenError('MW_FAILED', `the agent of pid ${pid} failed: ${String(error)}`);
  return result;
}
