import { readAllText } from './files.js';
import { decodeAddress } from './net.js';

/** The two ends of an accepted TCP connection, as Node's socket names them. */
export interface ConnectionEnds {
  localAddress?: string | undefined;
  localPort?: number | undefined;
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}

const TCP_ESTABLISHED = '01';
const NET_FILE_CAP_BYTES = 16 * 1024 * 1024;

/**
 * An address as `decodeAddress` writes it: dotted IPv4, or eight 4-digit lower-case hex groups;
 * an IPv4-mapped IPv6 address becomes its dotted IPv4.
 */
export function canonicalAddress(address: string): string | undefined {
  if (!address.includes(':')) return /^\d{1,3}(\.\d{1,3}){3}$/.test(address) ? address : undefined;
  let text = address.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const b = v4.slice(1).map(Number);
    const hex = (hi = 0, lo = 0) => ((hi << 8) | lo).toString(16);
    text = `${text.slice(0, v4.index)}${hex(b[0], b[1])}:${hex(b[2], b[3])}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return unmapped(groups.map((g) => g.padStart(4, '0')).join(':'));
}

const MAPPED_PREFIX = '0000:0000:0000:0000:0000:ffff:';

/**
 * An IPv4-mapped IPv6 address as its IPv4 form: a dual-stack server sees an IPv4 client as
 * `::ffff:127.0.0.1` while the client's own socket is listed in /proc/net/tcp as 127.0.0.1.
 */
function unmapped(address: string): string {
  if (!address.startsWith(MAPPED_PREFIX)) return address;
  const [hi = 0, lo = 0] = address
    .slice(MAPPED_PREFIX.length)
    .split(':')
    .map((g) => Number.parseInt(g, 16));
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

function decoded(hex: string): string | undefined {
  const address = decodeAddress(hex)?.address;
  return address === undefined ? undefined : unmapped(address);
}

/**
 * The lines that may have `port` as their local port (`:PORT ` in upper-case hex, as the kernel
 * prints it), found by searching the text: a machine with tens of thousands of sockets would
 * otherwise cost a split of every line on each lookup.
 */
function* linesWithLocalPort(text: string, port: number): Generator<string> {
  const needle = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  let from = 0;
  for (;;) {
    const at = text.indexOf(needle, from);
    if (at < 0) return;
    const start = text.lastIndexOf('\n', at) + 1;
    const end = text.indexOf('\n', at);
    yield text.slice(start, end < 0 ? text.length : end);
    from = end < 0 ? text.length : end;
  }
}

/**
 * The uid that owns the client end of a TCP connection made to this machine, from the
 * client socket's own line in /proc/net/tcp{,6}: the one whose local end is the connection's
 * remote end and whose remote end is ours. The kernel sets that uid when the socket is created,
 * so a local user cannot claim another's. Only an ESTABLISHED socket still held by a file (inode
 * not 0) counts: an orphaned one reads as uid 0. Undefined when there is no such line (the
 * client is on another machine or in another network namespace) or when lines disagree.
 */
export function connectionPeerUid(ends: ConnectionEnds, root = '/proc'): number | undefined {
  const { localAddress, localPort, remoteAddress, remotePort } = ends;
  if (!localAddress || !remoteAddress || !localPort || !remotePort) return undefined;
  const ours = canonicalAddress(localAddress);
  const theirs = canonicalAddress(remoteAddress);
  if (ours === undefined || theirs === undefined) return undefined;
  const uids = new Set<number>();
  for (const name of ['tcp', 'tcp6']) {
    const text = readAllText(`${root}/self/net/${name}`, NET_FILE_CAP_BYTES);
    if (typeof text !== 'string') continue;
    for (const line of linesWithLocalPort(text, remotePort)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== TCP_ESTABLISHED || f[9] === '0') continue;
      const [localHex = '', localPortHex = ''] = (f[1] ?? '').split(':');
      const [remoteHex = '', remotePortHex = ''] = (f[2] ?? '').split(':');
      if (
        Number.parseInt(localPortHex, 16) !== remotePort ||
        Number.parseInt(remotePortHex, 16) !== localPort
      )
        continue;
      if (decoded(localHex) !== theirs || decoded(remoteHex) !== ours) continue;
      const uid = Number(f[7]);
      if (Number.isInteger(uid) && uid >= 0) uids.add(uid);
    }
  }
  return uids.size === 1 ? [...uids][0] : undefined;
}
