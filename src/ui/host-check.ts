import { isIP } from 'node:net';

/** Names that always mean this machine. Numeric oddities (`0x7f.1`, `2130706433`) are not among them. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** How a bound address is written in a Host header: IPv6 literals in brackets. */
export function hostForUrl(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/**
 * The Host header check against DNS rebinding: a page on `evil.example` that re-resolves to
 * 127.0.0.1 still sends `Host: evil.example`. Allowed are the loopback names, the bound address
 * and configured names, each exactly (lower-cased), with or without a port.
 */
export class HostAllowlist {
  private readonly names: Set<string>;

  constructor(boundHost: string, extra: readonly string[] = []) {
    const bound = hostForUrl(boundHost).toLowerCase();
    // A wildcard bind is not a name anyone should put in a URL: only configured names then.
    const wildcard = boundHost === '0.0.0.0' || boundHost === '::';
    this.names = new Set([
      ...LOOPBACK_NAMES,
      ...(wildcard ? [] : [bound]),
      ...extra.map((n) => n.toLowerCase()),
    ]);
  }

  allows(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined) return false;
    const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(hostHeader.trim());
    if (!m?.[1]) return false;
    return this.names.has(m[1].toLowerCase());
  }
}
