import { type ClientRequest, Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { backoffDelayMs } from './backoff.js';
import type { ResultCode } from './spec.js';

export interface WebhookRequest {
  url: string;
  body: unknown;
  headers?: Record<string, string>;
  timeoutMs: number;
  retries: number;
}

export interface WebhookOutcome {
  ok: boolean;
  code?: ResultCode;
  message: string;
  attempts: number;
}

export interface WebhookSenderOptions {
  /** Requests in flight at once, hence sockets open at once. */
  maxConcurrent?: number;
  /** Deliveries waiting for a socket or for their next retry; beyond it the oldest is dropped. */
  maxQueued?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export interface WebhookCounters {
  delivered: number;
  failed: number;
  retried: number;
  /** Deliveries pushed out of the full queue (monit's `slots`). */
  dropped: number;
}

interface Delivery {
  url: URL;
  body: Buffer;
  headers: Record<string, string>;
  timeoutMs: number;
  retries: number;
  attempts: number;
  /** False while waiting out a backoff delay. */
  ready: boolean;
  timer?: NodeJS.Timeout;
  resolve(outcome: WebhookOutcome): void;
}

type Attempt =
  | { ok: true; status: number }
  | { ok: false; retry: boolean; code: ResultCode; message: string };

/** Whatever the config says: with backoff doubling, more would span hours. */
const MAX_RETRIES = 10;

/** Longest Location header quoted back in a message. */
const LOCATION_QUOTE_CHARS = 200;

/**
 * Posts JSON to webhooks with bounded everything: a timeout per request, a few retries with
 * exponential backoff and jitter, a queue that drops its oldest entry when full, and a cap on
 * sockets. Redirects are never followed: a 3xx is a failure, so an endpoint cannot point
 * memwarden at `file://` or a cloud metadata address. `send()` never rejects.
 */
export class WebhookSender {
  readonly counters: WebhookCounters = { delivered: 0, failed: 0, retried: 0, dropped: 0 };
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly queue = new Set<Delivery>();
  private readonly active = new Set<ClientRequest>();
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;
  private inFlight = 0;
  private closed = false;

  constructor(options: WebhookSenderOptions = {}) {
    this.maxConcurrent = options.maxConcurrent ?? 4;
    this.maxQueued = options.maxQueued ?? 100;
    this.backoffBaseMs = options.backoffBaseMs ?? 1000;
    this.backoffMaxMs = options.backoffMaxMs ?? 60_000;
    this.httpAgent = new HttpAgent({ maxSockets: this.maxConcurrent, maxTotalSockets: this.maxConcurrent });
    this.httpsAgent = new HttpsAgent({ maxSockets: this.maxConcurrent, maxTotalSockets: this.maxConcurrent });
  }

  /** Deliveries waiting (for a socket or a retry), not counting those in flight. */
  get queued(): number {
    return this.queue.size;
  }

  send(request: WebhookRequest): Promise<WebhookOutcome> {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return Promise.resolve({
        ok: false,
        code: 'BAD_URL',
        message: 'webhook URL does not parse',
        attempts: 0,
      });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return Promise.resolve({
        ok: false,
        code: 'BAD_URL',
        message: `webhook URL scheme ${url.protocol} is not http: or https:`,
        attempts: 0,
      });
    }
    if (this.closed) return Promise.resolve(cancelled(0));
    return new Promise((resolve) => {
      this.enqueue({
        url,
        body: Buffer.from(JSON.stringify(request.body)),
        headers: request.headers ?? {},
        timeoutMs: request.timeoutMs,
        retries: Math.min(MAX_RETRIES, Math.max(0, request.retries)),
        attempts: 0,
        ready: true,
        resolve,
      });
    });
  }

  /** Cancels what is queued and in flight, and closes the sockets. */
  close(): void {
    this.closed = true;
    for (const delivery of this.queue) {
      clearTimeout(delivery.timer);
      delivery.resolve(cancelled(delivery.attempts));
    }
    this.queue.clear();
    for (const req of this.active) req.destroy(new Error('webhook sender closed'));
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private enqueue(delivery: Delivery): void {
    if (this.queue.size >= this.maxQueued) {
      const oldest = this.queue.values().next().value;
      if (oldest !== undefined) {
        this.queue.delete(oldest);
        clearTimeout(oldest.timer);
        this.counters.dropped++;
        oldest.resolve({
          ok: false,
          code: 'DROPPED',
          message: `webhook queue full (${this.maxQueued}); oldest delivery dropped`,
          attempts: oldest.attempts,
        });
      }
    }
    this.queue.add(delivery);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.maxConcurrent) {
      let next: Delivery | undefined;
      for (const delivery of this.queue) {
        if (delivery.ready) {
          next = delivery;
          break;
        }
      }
      if (next === undefined) return;
      this.queue.delete(next);
      this.inFlight++;
      void this.attempt(next);
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    delivery.attempts++;
    const result = await this.post(delivery);
    this.inFlight--;
    if (this.closed) {
      delivery.resolve(cancelled(delivery.attempts));
      return;
    }
    if (result.ok) {
      this.counters.delivered++;
      delivery.resolve({
        ok: true,
        message: `webhook answered ${result.status}`,
        attempts: delivery.attempts,
      });
    } else if (result.retry && delivery.attempts <= delivery.retries) {
      this.counters.retried++;
      delivery.ready = false;
      const delayMs = backoffDelayMs(
        delivery.attempts - 1,
        this.backoffBaseMs,
        this.backoffMaxMs,
        Math.random(),
      );
      delivery.timer = setTimeout(() => {
        delivery.ready = true;
        this.pump();
      }, delayMs);
      this.enqueue(delivery);
    } else {
      this.counters.failed++;
      const tries = delivery.attempts === 1 ? '' : ` after ${delivery.attempts} attempts`;
      delivery.resolve({
        ok: false,
        code: result.code,
        message: `${result.message}${tries}`,
        attempts: delivery.attempts,
      });
    }
    this.pump();
  }

  private post(delivery: Delivery): Promise<Attempt> {
    const https = delivery.url.protocol === 'https:';
    return new Promise((resolve) => {
      let settled = false;
      const settle = (attempt: Attempt) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.active.delete(req);
        resolve(attempt);
      };
      const req = (https ? httpsRequest : httpRequest)(delivery.url, {
        method: 'POST',
        agent: https ? this.httpsAgent : this.httpAgent,
        headers: {
          ...delivery.headers,
          'content-type': 'application/json',
          'content-length': String(delivery.body.length),
        },
      });
      this.active.add(req);
      const timer = setTimeout(() => {
        settle({
          ok: false,
          retry: true,
          code: 'TIMEOUT',
          message: `webhook did not answer within ${delivery.timeoutMs} ms`,
        });
        req.destroy();
      }, delivery.timeoutMs);
      req.once('response', (res) => {
        // Only the status matters; the body is not read, so a huge or endless one costs nothing.
        res.destroy();
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) settle({ ok: true, status });
        else if (status >= 300 && status < 400) {
          const location = String(res.headers.location ?? '').slice(0, LOCATION_QUOTE_CHARS);
          settle({
            ok: false,
            retry: false,
            code: 'REDIRECT',
            message: `webhook answered ${status}; redirect not followed (Location: ${location})`,
          });
        } else {
          settle({
            ok: false,
            retry: status >= 500 || status === 408 || status === 429,
            code: 'HTTP_STATUS',
            message: `webhook answered ${status}`,
          });
        }
      });
      req.once('error', (err) => {
        settle({
          ok: false,
          retry: true,
          code: 'NETWORK',
          message: `webhook request failed: ${err.message}`,
        });
      });
      req.end(delivery.body);
    });
  }
}

function cancelled(attempts: number): WebhookOutcome {
  return { ok: false, code: 'CANCELLED', message: 'webhook sender closed', attempts };
}
