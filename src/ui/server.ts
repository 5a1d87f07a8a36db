import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemwardenError } from '../errors.js';
import { METRICS_CONTENT_TYPE, MetricsCache, type Tick } from '../export/index.js';
import { openFileSoftLimit, readCredentials } from '../proc/index.js';
import { type ActionHandler, isRequestedAction } from './actions.js';
import { type Caller, describeCaller, localCaller, mayActOn } from './caller.js';
import { type HistorySource, memberLines, totalsByTime } from './history.js';
import { HostAllowlist, hostForUrl, isLoopbackHost } from './host-check.js';
import { liveView } from './view-model.js';
import { webAsset, webAssets } from './web-assets.js';

export interface DashboardOptions {
  /** Default 127.0.0.1. Anything that is not loopback needs `token`. */
  host?: string;
  /** Default 9464; 0 picks a free port. */
  port?: number;
  /** Required for a non-loopback bind; then every request must present it. */
  token?: string;
  /** Host header names accepted besides the loopback names and the bound address. */
  allowedHosts?: string[];
  history: HistorySource;
  actions?: ActionHandler;
  /** How often the page polls for live data; also sets when `memwarden_up` turns 0 (3×). */
  refreshMs?: number;
  /** Requests served at once; more get 503. Default 64. */
  maxConcurrent?: number;
  /**
   * Connections open at once; more are closed as they arrive. Default 256, and never more than
   * a quarter of the open-file limit, so that idle clients cannot take the descriptors the
   * sampling loop needs.
   */
  maxConnections?: number;
  /** A history query that takes longer gets 503. Default 5 s. */
  queryTimeoutMs?: number;
}

const MAX_POINTS = 2000;
const DEFAULT_POINTS = 600;
const MAX_EVENTS = 1000;
const MAX_PROCESSES_PER_TARGET = 200;
const MAX_BODY_BYTES = 4096;
const MAX_QUEUED_QUERIES = 32;
const COOKIE = 'memwarden_session';
const DEFAULT_MAX_CONNECTIONS = 256;
/** A client gets this long to send its headers, and a whole request; idle keep-alive closes sooner. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often Node looks for connections past those timeouts (its default is 30 s). */
const TIMEOUT_CHECK_MS = 1_000;

/**
 * Finding a caller reads /proc/net/tcp, which on a machine with tens of thousands of sockets
 * takes the kernel about 100 ms: only this many a second, so that a flood of POSTs cannot hold
 * the sampling loop.
 */
const CALLER_LOOKUPS_PER_SECOND = 5;

/** The connection cap: what was asked, within a quarter of the open-file limit. */
function connectionCap(asked: number | undefined): number {
  return Math.max(8, Math.min(asked ?? DEFAULT_MAX_CONNECTIONS, Math.floor(openFileSoftLimit() / 4)));
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function sameSecret(given: string | undefined, expected: Buffer): boolean {
  return given !== undefined && timingSafeEqual(digest(given), expected);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

function intParam(
  params: URLSearchParams,
  name: string,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new HttpError(400, `${name} must be a non-negative integer`);
  return Math.min(Number(raw), max);
}

/**
 * The local web face of memwarden: `/metrics`, the dashboard, its JSON API and one action
 * endpoint. Safe by default: loopback only unless a token is set, Host header checked against
 * DNS rebinding, POST only with a CSRF token from a same-origin page, strict CSP.
 */
export class DashboardServer {
  private readonly server: Server;
  private readonly metrics: MetricsCache;
  private readonly hosts: HostAllowlist;
  private readonly tokenDigest: Buffer | undefined;
  private readonly sessionValue: string;
  private readonly csrfToken = randomBytes(24).toString('base64url');
  private readonly page: string;
  private latest: Tick | undefined;
  private inFlight = 0;
  private queries: Promise<void> = Promise.resolve();
  private queuedQueries = 0;
  /** Requests turned away because `maxConcurrent` were being served. */
  rejected = 0;
  /** Connections the kernel could not hand over (EMFILE, ENFILE on accept); the server goes on. */
  acceptErrors = 0;
  private lookups = { windowStartMs: 0, count: 0 };

  private constructor(private readonly options: DashboardOptions & { host: string }) {
    this.metrics = new MetricsCache((options.refreshMs ?? 5000) * 3);
    this.hosts = new HostAllowlist(options.host, options.allowedHosts);
    this.tokenDigest = options.token === undefined ? undefined : digest(options.token);
    // The cookie carries a value derived from the token and this run, never the token itself.
    this.sessionValue = createHash('sha256')
      .update(`${options.token ?? ''}:${randomBytes(16).toString('hex')}`)
      .digest('base64url');
    this.page = readFileSync(webAsset('dashboard.html'), 'utf8')
      .replace('{{csrf}}', this.csrfToken)
      .replace('{{refreshMs}}', String(options.refreshMs ?? 5000));
    this.server = createServer(
      {
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      },
      (req, res) => this.handle(req, res),
    );
    this.server.maxConnections = connectionCap(options.maxConnections);
  }

  static async start(options: DashboardOptions): Promise<DashboardServer> {
    const host = options.host ?? '127.0.0.1';
    if (!isLoopbackHost(host) && !options.token)
      throw new MemwardenError(
        'MW_USAGE',
        `refusing to listen on ${host} without a token: set --token or MEMWARDEN_TOKEN, or listen on 127.0.0.1`,
      );
    if (options.token !== undefined && options.token.length < 16)
      throw new MemwardenError('MW_USAGE', 'the token must be at least 16 characters');
    const dashboard = new DashboardServer({ ...options, host });
    await new Promise<void>((resolve, reject) => {
      dashboard.server.once('error', (err) =>
        reject(
          new MemwardenError('MW_FAILED', `cannot listen on ${host}:${options.port ?? 9464}: ${err.message}`),
        ),
      );
      dashboard.server.listen(options.port ?? 9464, host, () => resolve());
    });
    // Once listening, an error is a failed accept (out of descriptors): without a listener Node
    // would throw it and end the watcher; the client was turned away, and that is all.
    dashboard.server.removeAllListeners('error');
    dashboard.server.on('error', () => {
      dashboard.acceptErrors++;
    });
    return dashboard;
  }

  /** Called once per tick: renders the exposition and keeps the tick for `/api/live`. */
  publish(tick: Tick): void {
    this.latest = tick;
    this.metrics.update(tick);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://${hostForUrl(this.options.host)}:${this.port}/`;
  }

  /** The CSRF token the page carries; tests and scripts that POST need it. */
  get csrf(): string {
    return this.csrfToken;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.options.history.close?.();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (this.inFlight >= (this.options.maxConcurrent ?? 64)) {
      this.rejected++;
      res.setHeader('retry-after', '1');
      this.send(res, 503, 'text/plain; charset=utf-8', 'busy\n');
      return;
    }
    this.inFlight++;
    res.once('close', () => this.inFlight--);
    this.route(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      // An unexpected error's text may name files or internals: the client gets a plain word.
      const message = err instanceof HttpError ? err.message : 'internal error';
      if (status === 413) res.setHeader('connection', 'close');
      if (!res.headersSent) this.send(res, status, 'application/json', JSON.stringify({ error: message }));
      else res.destroy();
    });
  }

  private send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private json(res: ServerResponse, value: unknown): void {
    this.send(res, 200, 'application/json; charset=utf-8', JSON.stringify(value));
  }

  private authorised(req: IncomingMessage): boolean {
    if (!this.tokenDigest) return true;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && sameSecret(auth.slice(7), this.tokenDigest)) return true;
    const session = cookieValue(req.headers.cookie, COOKIE);
    return session !== undefined && sameSecret(session, digest(this.sessionValue));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.hosts.allows(req.headers.host)) throw new HttpError(403, 'host not allowed');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if (method === 'POST') {
      if (url.pathname !== '/api/action') throw new HttpError(405, 'method not allowed');
      if (!this.authorised(req)) throw new HttpError(401, 'token required');
      await this.action(req, res);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'method not allowed');
    if (!this.authorised(req)) {
      this.login(url, res);
      return;
    }
    if (url.pathname === '/metrics') {
      this.send(res, 200, METRICS_CONTENT_TYPE, this.metrics.text());
      return;
    }
    if (url.pathname === '/') {
      this.send(res, 200, 'text/html; charset=utf-8', this.page);
      return;
    }
    const asset = url.pathname.startsWith('/static/') ? webAssets().get(url.pathname.slice(8)) : undefined;
    if (asset) {
      res.setHeader('cache-control', 'no-cache');
      this.send(res, 200, asset.type, asset.body);
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      const name = url.pathname.slice(5);
      if (name === 'live') {
        this.json(res, this.latest ? liveView(this.latest, MAX_PROCESSES_PER_TARGET) : null);
        return;
      }
      this.json(res, await this.query(() => this.api(name, url.searchParams)));
      return;
    }
    throw new HttpError(404, 'not found');
  }

  /**
   * A browser reaches a token-protected dashboard once with `/?token=…`: the token becomes a
   * same-site, HTTP-only session cookie and leaves the address bar (and history) at once.
   */
  private login(url: URL, res: ServerResponse): void {
    const token = url.searchParams.get('token') ?? undefined;
    if (url.pathname === '/' && this.tokenDigest && sameSecret(token, this.tokenDigest)) {
      res.setHeader('set-cookie', `${COOKIE}=${this.sessionValue}; HttpOnly; SameSite=Strict; Path=/`);
      res.setHeader('location', '/');
      this.send(res, 303, 'text/plain; charset=utf-8', 'see /\n');
      return;
    }
    throw new HttpError(401, 'token required');
  }

  /**
   * History queries run one at a time, each from a fresh turn of the event loop, so a burst of
   * month-long queries cannot hold up the tick that shares this process for longer than one
   * query takes. A query still waiting when its timeout passes is dropped, never run, and one
   * whose source never answers holds the line only until its timeout.
   */
  private query<T>(work: () => Promise<T>): Promise<T> {
    if (this.queuedQueries >= MAX_QUEUED_QUERIES)
      return Promise.reject(new HttpError(503, 'too many history queries at once'));
    this.queuedQueries++;
    let expired = false;
    const run = this.queries
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        if (expired) throw new HttpError(503, 'history query timed out');
        return work();
      });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true;
        reject(new HttpError(503, 'history query timed out'));
      }, this.options.queryTimeoutMs ?? 5000);
    });
    const answer = Promise.race([run, timeout]).finally(() => clearTimeout(timer));
    // The next query waits for this one's answer or its timeout: a hung source blocks nobody.
    const settled = answer.then(
      () => undefined,
      () => undefined,
    );
    this.queries = settled;
    void settled.then(() => this.queuedQueries--);
    return answer;
  }

  private async api(name: string, params: URLSearchParams): Promise<unknown> {
    const history = this.options.history;
    const now = Date.now();
    const sinceMs = intParam(params, 'since', now - 3_600_000);
    const untilParam = params.get('until');
    const range = {
      sinceMs,
      maxPoints: intParam(params, 'points', DEFAULT_POINTS, MAX_POINTS),
      ...(untilParam === null ? {} : { untilMs: intParam(params, 'until', now) }),
    };
    switch (name) {
      case 'targets': {
        const names = await history.targets();
        return Promise.all(
          names.map(async (target) => ({ name: target, trend: (await history.trend?.(target)) ?? null })),
        );
      }
      case 'series': {
        const target = params.get('target');
        if (!target) throw new HttpError(400, 'target is required');
        const series = await history.series({ ...range, target });
        return { target, points: totalsByTime(series), members: memberLines(series) };
      }
      case 'system':
        return { points: await history.system(range) };
      case 'events': {
        const target = params.get('target');
        return {
          events: await history.events({
            sinceMs,
            ...(range.untilMs === undefined ? {} : { untilMs: range.untilMs }),
            ...(target ? { target } : {}),
            limit: intParam(params, 'limit', 200, MAX_EVENTS),
          }),
        };
      }
      default:
        throw new HttpError(404, 'not found');
    }
  }

  /**
   * Only a page this server served can POST here: it must show the CSRF token that page
   * carries, and the browser's Origin (and Sec-Fetch-Site, where sent) must say same origin.
   * That keeps other web pages out, not other local users: any of them can read the page. So
   * the caller must also prove who they are — by the configured token, or else as the local
   * user who owns the client socket — and a local user may act only on their own processes.
   */
  private async action(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== `http://${req.headers.host}`) throw new HttpError(403, 'cross-origin request refused');
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') throw new HttpError(403, 'cross-site request refused');
    const csrf = req.headers['x-csrf-token'];
    if (typeof csrf !== 'string' || !sameSecret(csrf, digest(this.csrfToken)))
      throw new HttpError(403, 'missing or wrong CSRF token');
    if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
      throw new HttpError(415, 'expected application/json');
    // With a token every request was checked against it already (see route).
    const caller: Caller | undefined = this.tokenDigest ? { kind: 'token' } : this.localCaller(req, res);
    if (!caller)
      throw new HttpError(403, 'cannot tell which local user is asking; set a token to act from elsewhere');
    const body = await readBody(req);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new HttpError(400, 'body is not JSON');
    }
    const { pid, startTicks, action } = (parsed ?? {}) as {
      pid?: unknown;
      startTicks?: unknown;
      action?: unknown;
    };
    const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
    if (
      !isCount(pid) ||
      pid === 0 ||
      !(startTicks === undefined || isCount(startTicks)) ||
      !isRequestedAction(action)
    )
      throw new HttpError(
        400,
        "expected {pid: <positive integer>, startTicks?: <integer>, action: 'gc' | 'snapshot'}",
      );
    if (!this.options.actions) {
      this.send(
        res,
        501,
        'application/json',
        JSON.stringify({ ok: false, message: `${action} is not available from this server` }),
      );
      return;
    }
    const identity = caller.kind === 'user' ? this.mayAct(caller.uid, pid, startTicks) : startTicks;
    this.json(
      res,
      await this.options.actions({
        pid,
        action,
        askedBy: describeCaller(caller),
        ...(identity === undefined ? {} : { startTicks: identity }),
      }),
    );
  }

  /** The local user behind the request, within the lookups allowed per second (503 beyond). */
  private localCaller(req: IncomingMessage, res: ServerResponse): Caller | undefined {
    const now = performance.now();
    if (now - this.lookups.windowStartMs >= 1000) this.lookups = { windowStartMs: now, count: 0 };
    if (++this.lookups.count > CALLER_LOOKUPS_PER_SECOND) {
      res.setHeader('retry-after', '1');
      throw new HttpError(503, 'too many actions asked at once; retry in a second');
    }
    return localCaller(req.socket);
  }

  /**
   * Refuses unless `uid` may act on the process at `pid` now; returns that process's start time,
   * so that the action is carried out on the very process that was checked, never a successor.
   */
  private mayAct(uid: number, pid: number, startTicks: number | undefined): number {
    const target = readCredentials(pid);
    if (!target || (startTicks !== undefined && target.startTicks !== startTicks))
      throw new HttpError(403, `pid ${pid} is not a process uid ${uid} may act on`);
    if (!mayActOn(uid, target))
      throw new HttpError(
        403,
        `uid ${uid} may not act on pid ${pid} (uid ${target.uids[1]}): only root or the process's owner may`,
      );
    return target.startTicks;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      reject(new HttpError(413, 'body too large'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      // Keep draining without keeping: the answer is sent and the connection closed after it.
      req.off('data', onData);
      req.resume();
      reject(new HttpError(413, 'body too large'));
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
