import { readdirSync, readlinkSync } from 'node:fs';
import { classify, readAllText } from './files.js';

/** One TCP socket in the LISTEN state, from /proc/net/tcp or tcp6. */
export interface TcpListener {
  /** Dotted IPv4 (`127.0.0.1`) or a full, uncompressed IPv6 address (`0000:…:0001`). */
  address: string;
  port: number;
  family: 4 | 6;
  /** The socket's inode: what `/proc/<pid>/fd/N -> socket:[inode]` points at. */
  inode: number;
  uid: number;
}

const TCP_LISTEN = '0A';
const NET_FILE_CAP_BYTES = 4 * 1024 * 1024;

/**
 * The kernel prints each 32-bit word of the address in host byte order; on the little-endian
 * machines memwarden runs on, that reverses the bytes of every word.
 */
export function decodeAddress(hex: string): { address: string; family: 4 | 6 } | undefined {
  if (hex.length === 8) {
    const bytes = [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
    return { address: bytes.join('.'), family: 4 };
  }
  if (hex.length === 32) {
    const groups: string[] = [];
    for (let word = 0; word < 4; word++) {
      const w = hex.slice(word * 8, word * 8 + 8);
      const bytes = [6, 4, 2, 0].map((i) => w.slice(i, i + 2)).join('');
      groups.push(bytes.slice(0, 4).toLowerCase(), bytes.slice(4, 8).toLowerCase());
    }
    return { address: groups.join(':'), family: 6 };
  }
  return undefined;
}

/** Parses the text of /proc/net/tcp or tcp6, keeping only listening sockets. */
export function parseTcpListeners(text: string): TcpListener[] {
  const out: TcpListener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const [addrHex, portHex] = (f[1] ?? '').split(':');
    if (addrHex === undefined || portHex === undefined) continue;
    const decoded = decodeAddress(addrHex);
    const inode = Number(f[9]);
    if (!decoded || !Number.isInteger(inode) || inode <= 0) continue;
    out.push({ ...decoded, port: Number.parseInt(portHex, 16), inode, uid: Number(f[7]) });
  }
  return out;
}

/**
 * The listening TCP sockets of a network namespace. With a pid, the namespace is that process's
 * (`/proc/<pid>/net/tcp`), which is the one its sockets live in; an unreadable file gives [].
 */
export function readTcpListeners(options: { root?: string; pid?: number } = {}): TcpListener[] {
  const base = `${options.root ?? '/proc'}${options.pid === undefined ? '' : `/${options.pid}`}/net`;
  const out: TcpListener[] = [];
  for (const name of ['tcp', 'tcp6']) {
    const text = readAllText(`${base}/${name}`, NET_FILE_CAP_BYTES);
    if (typeof text === 'string') out.push(...parseTcpListeners(text));
  }
  return out;
}

/** One TCP socket in any state, from /proc/net/tcp or tcp6. */
export interface TcpSocket {
  local: { address: string; port: number };
  remote: { address: string; port: number };
  family: 4 | 6;
  /** The kernel's state as its two hex digits: `01` established, `06` time-wait, `0A` listen. */
  state: string;
  /** 0 for a socket no process holds any more (time-wait). */
  inode: number;
  uid: number;
}

function endpoint(field: string | undefined): { address: string; port: number; family: 4 | 6 } | undefined {
  const [addrHex, portHex] = (field ?? '').split(':');
  if (addrHex === undefined || portHex === undefined) return undefined;
  const decoded = decodeAddress(addrHex);
  return decoded && { ...decoded, port: Number.parseInt(portHex, 16) };
}

/** Parses the text of /proc/net/tcp or tcp6: every socket, in every state. */
export function parseTcpSockets(text: string): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = endpoint(f[1]);
    const remote = endpoint(f[2]);
    const inode = Number(f[9]);
    if (!local || !remote || !Number.isInteger(inode) || inode < 0) continue;
    out.push({
      local: { address: local.address, port: local.port },
      remote: { address: remote.address, port: remote.port },
      family: local.family,
      state: f[3] ?? '',
      inode,
      uid: Number(f[7]),
    });
  }
  return out;
}

/**
 * The TCP sockets of a network namespace (a process's, with `pid`) whose local or remote port
 * is `port`; an unreadable file gives []. Only the lines naming the port are parsed: a busy
 * host has tens of thousands of sockets.
 */
export function readTcpSockets(options: { root?: string; pid?: number; port: number }): TcpSocket[] {
  const base = `${options.root ?? '/proc'}${options.pid === undefined ? '' : `/${options.pid}`}/net`;
  const needle = `:${options.port.toString(16).toUpperCase().padStart(4, '0')} `;
  const out: TcpSocket[] = [];
  for (const name of ['tcp', 'tcp6']) {
    const text = readAllText(`${base}/${name}`, NET_FILE_CAP_BYTES);
    if (typeof text !== 'string') continue;
    const lines = text.split('\n').filter((line, i) => i === 0 || line.includes(needle));
    out.push(
      ...parseTcpSockets(lines.join('\n')).filter(
        (s) => s.local.port === options.port || s.remote.port === options.port,
      ),
    );
  }
  return out;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(address: string): boolean {
  if (address.startsWith('127.')) return true;
  const compact = address.replaceAll(':', '');
  return compact === '00000000000000000000000000000001' || /^00000000000000000000ffff7f/.test(compact);
}

/** True for 0.0.0.0 and ::, which accept connections on every interface. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || /^[0:]+$/.test(address);
}

const SOCKET_LINK = /^socket:\[(\d+)\]$/;

/**
 * The inodes of the sockets a process holds open, from the links in /proc/<pid>/fd. `gone` when
 * the process exited, `denied` when its fds are not ours to list.
 */
export function socketInodes(pid: number, root = '/proc'): Set<number> | 'gone' | 'denied' {
  const dir = `${root}/${pid}/fd`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const outcome = classify(err);
    return outcome.reason === 'gone' ? 'gone' : 'denied';
  }
  const inodes = new Set<number>();
  for (const name of names) {
    let link: string;
    try {
      link = readlinkSync(`${dir}/${name}`);
    } catch {
      // closed between the listing and the readlink
      continue;
    }
    const m = SOCKET_LINK.exec(link);
    if (m) inodes.add(Number(m[1]));
  }
  return inodes;
}

/** The listening sockets a process owns (its namespace's listeners whose inode it holds). */
export function listenersOf(pid: number, root = '/proc'): TcpListener[] | 'gone' | 'denied' {
  const inodes = socketInodes(pid, root);
  if (typeof inodes === 'string') return inodes;
  return readTcpListeners({ root, pid }).filter((l) => inodes.has(l.inode));
}

/**
 * Which process holds a socket inode, by scanning every /proc/<pid>/fd we may read. Slow (one
 * readlink per fd on the machine): for error messages, never for the hot path.
 */
export function ownerOfInode(inode: number, root = '/proc'): number | undefined {
  for (const name of readdirSync(root)) {
    if (!/^\d+$/.test(name)) continue;
    const inodes = socketInodes(Number(name), root);
    if (typeof inodes !== 'string' && inodes.has(inode)) return Number(name);
  }
  return undefined;
}
