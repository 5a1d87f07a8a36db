import { BlockList, isIP } from 'node:net';
import { readAllText } from '../../proc/index.js';
import { ENVIRON_CAP_BYTES } from '../target-checks.js';

export const DEFAULT_INSPECTOR_PORT = 9229;

/**
 * The flags that set where an inspector listens, as Node spells them (it reads `_` in an option
 * name as `-`). Each holds `[host:]port`, a host alone or a port alone; only `--inspect-port`
 * and its alias `--debug-port` also take their value as the next argument.
 */
const ADDRESS_FLAGS = new Set(['--inspect', '--inspect-brk', '--inspect-brk-node', '--inspect-wait']);
const ADDRESS_OPTIONS = new Set(['--inspect-port', '--debug-port']);

/**
 * Node's options that take their value as the next argument: what follows them is not the
 * script, so Node goes on reading its own options after it (`node -e CODE --inspect-port=…`).
 */
const VALUE_OPTIONS = new Set([
  '-r',
  '--require',
  '-e',
  '--eval',
  '-p',
  '--print',
  '-pe',
  '-C',
  '--conditions',
  '--import',
  '--loader',
  '--experimental-loader',
  '--input-type',
  '--title',
  '--env-file',
  '--env-file-if-exists',
  '--inspect-port',
  '--debug-port',
  '--inspect-publish-uid',
  '--watch-path',
  '--unhandled-rejections',
  '--dns-result-order',
  '--diagnostic-dir',
  '--report-dir',
  '--report-directory',
  '--report-filename',
  '--report-signal',
  '--heapsnapshot-signal',
  '--icu-data-dir',
  '--openssl-config',
  '--tls-cipher-list',
  '--tls-keylog',
  '--redirect-warnings',
  '--trace-event-categories',
  '--trace-event-file-pattern',
  '--cpu-prof-dir',
  '--cpu-prof-name',
  '--heap-prof-dir',
  '--heap-prof-name',
  '--secure-heap',
  '--secure-heap-min',
  '--max-http-header-size',
  '--disable-proto',
  '--experimental-policy',
  '--policy-integrity',
  '--snapshot-blob',
  '--localstorage-file',
  '--allow-fs-read',
  '--allow-fs-write',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-shard',
  '--run',
]);

/** Where an inspector listens; an empty host is Node's default, 127.0.0.1. */
export interface InspectorAddress {
  host: string;
  port: number;
}

/**
 * What a Node process's flags say about its inspector: the address it binds when opened, every
 * host any flag names (even one Node would override, or one after the script, which memwarden
 * cannot tell apart from the program's own arguments), and `--disable-sigusr1`.
 */
export interface InspectorFlags {
  address: InspectorAddress;
  hosts: string[];
  sigusr1Disabled: boolean;
}

/** An option's name as Node reads it: `--inspect_port=x` is `--inspect-port`. */
function optionName(arg: string): { name: string; value: string | undefined } {
  const eq = arg.indexOf('=');
  const raw = eq < 0 ? arg : arg.slice(0, eq);
  const name = raw.startsWith('--') ? `--${raw.slice(2).replaceAll('_', '-')}` : raw;
  return { name, value: eq < 0 ? undefined : arg.slice(eq + 1) };
}

function removeBrackets(text: string): string {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}

/**
 * One `[host:]port` value split as Node's own SplitHostPort does: `[::1]` and `0.0.0.0` are a
 * host alone (the port then goes back to 9229), digits alone are a port, and otherwise the last
 * colon divides the two. An unusable port (Node refuses to start with it) gives -1.
 */
function splitHostPort(value: string): { host: string; port: number } {
  const bare = removeBrackets(value);
  if (bare.length < value.length) return { host: bare, port: DEFAULT_INSPECTOR_PORT };
  const colon = value.lastIndexOf(':');
  if (colon < 0) {
    if (/^\d+$/.test(value)) return { host: '', port: portNumber(value) };
    return { host: value, port: DEFAULT_INSPECTOR_PORT };
  }
  return { host: removeBrackets(value.slice(0, colon)), port: portNumber(value.slice(colon + 1)) };
}

function portNumber(text: string): number {
  if (!/^\d{1,5}$/.test(text)) return -1;
  const port = Number(text);
  return port <= 65535 ? port : -1;
}

/** The `[host:]port` value an inspector flag at `args[i]` carries, if it is one. */
function addressAt(args: readonly string[], i: number): string | undefined {
  const { name, value } = optionName(args[i] as string);
  if (value !== undefined) return ADDRESS_FLAGS.has(name) || ADDRESS_OPTIONS.has(name) ? value : undefined;
  return ADDRESS_OPTIONS.has(name) ? args[i + 1] : undefined;
}

/**
 * Reads the inspector flags of an argv-like list with Node's rule for each one, in order: a
 * host that is named replaces the host, a port that is named replaces the port. The address
 * comes from Node's own options only (those before the script); `hosts` gets every host that
 * any argument names, the program's own arguments included.
 */
function readFlags(args: readonly string[], flags: InspectorFlags): void {
  for (let i = 0; i < args.length; i++) {
    const value = addressAt(args, i);
    if (value !== undefined) {
      const { host } = splitHostPort(value);
      if (host !== '') flags.hosts.push(host);
    }
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--' || arg === '-' || !arg.startsWith('-')) break;
    const { name, value: inline } = optionName(arg);
    if (name === '--disable-sigusr1') flags.sigusr1Disabled = true;
    const value = addressAt(args, i);
    if (inline === undefined && VALUE_OPTIONS.has(name)) i++;
    if (value === undefined) continue;
    const { host, port } = splitHostPort(value);
    if (host !== '') flags.address.host = host;
    if (port >= 0) flags.address.port = port;
  }
}

/**
 * What `NODE_OPTIONS` holds, split as Node splits it: on white space, with double quotes
 * grouping and a backslash inside them escaping the next character.
 */
export function splitNodeOptions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let started = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted && c === '\\' && i + 1 < text.length) {
      current += text[++i];
    } else if (c === '"') {
      quoted = !quoted;
      started = true;
    } else if (!quoted && /\s/.test(c)) {
      if (started) out.push(current);
      current = '';
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

/**
 * The inspector flags from NODE_OPTIONS (read first by Node) and then argv, where argv[0] is
 * the executable. Pure, for tests; `inspectorFlags` reads them from /proc.
 */
export function parseInspectorFlags(cmdline: readonly string[], nodeOptions = ''): InspectorFlags {
  const flags: InspectorFlags = {
    address: { host: '', port: DEFAULT_INSPECTOR_PORT },
    hosts: [],
    sigusr1Disabled: false,
  };
  readFlags(splitNodeOptions(nodeOptions), flags);
  readFlags(cmdline.slice(1), flags);
  return flags;
}

/**
 * `NODE_OPTIONS` as the process started with it, '' when unset, or undefined when its
 * environment cannot be read (another user's process, or gone): then nobody can say which host
 * its inspector would bind.
 */
function nodeOptionsOf(root: string, pid: number): string | undefined {
  const environ = readAllText(`${root}/${pid}/environ`, ENVIRON_CAP_BYTES);
  if (typeof environ !== 'string') return environ.code === 'ENOENT' ? '' : undefined;
  const entry = environ.split('\0').find((e) => e.startsWith('NODE_OPTIONS='));
  return entry === undefined ? '' : entry.slice('NODE_OPTIONS='.length);
}

/** The inspector flags of a running process, or undefined when its environment is unreadable. */
export function inspectorFlags(
  cmdline: readonly string[],
  root: string,
  pid: number,
): InspectorFlags | undefined {
  const nodeOptions = nodeOptionsOf(root, pid);
  return nodeOptions === undefined ? undefined : parseInspectorFlags(cmdline, nodeOptions);
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/**
 * Whether an inspector host is reachable from this machine only: Node's default (''),
 * `localhost`, or an IP literal in 127.0.0.0/8 or ::1. Any other name is refused, since a
 * name such as `127.example.com` resolves to whatever its owner wants.
 */
export function isLoopbackHost(host: string): boolean {
  if (host === '' || host === 'localhost') return true;
  const family = isIP(host);
  if (family === 0) return false;
  return LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** The first host named by the flags that is not loopback, or undefined when all are. */
export function exposedHost(flags: InspectorFlags): string | undefined {
  return flags.hosts.find((host) => !isLoopbackHost(host));
}

/**
 * Such a target refuses every activation from outside, so the way in is one it opens itself: an
 * inspector listening from the start (found like any open one, whatever port the kernel gave it)
 * or memwarden running inside it.
 */
export const SIGUSR1_DISABLED =
  'was started with --disable-sigusr1, so its inspector cannot be opened from outside; ' +
  "use memwarden's guard() inside the program, or start it with --inspect=127.0.0.1:0";
