import { hostname } from 'node:os';
import { findOnPath } from '../runtimes/index.js';
import { formatBytes, formatDuration } from '../units/index.js';
import { backoffDelayMs } from './backoff.js';
import { runCommand } from './exec.js';
import type { WebhookSender } from './webhook.js';

/** Where notifications go: the `notify:` section of the config. */
export interface NotifyConfig {
  /** A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat…). */
  slack?: string;
  /** An ntfy topic URL, e.g. https://ntfy.sh/my-alerts. */
  ntfy?: string;
  email?: { host: string; port: number; from: string; to: string[]; secure?: boolean };
  /** A desktop notification through notify-send, where it exists. */
  desktop?: boolean;
}

/** What a message says: everything someone woken at night needs to decide. */
export interface Notice {
  /** The rule (or `guard`, `oom-killed`) it comes from; with the process, the dedup key. */
  rule: string;
  target?: string;
  pid?: number;
  startTicks?: number;
  name?: string;
  rssBytes?: number;
  slopeBytesPerSecond?: number;
  timeToOomSeconds?: number;
  /** What memwarden did or is about to do. */
  doing: string;
  /** The event's own line. */
  message: string;
  /** Urgent: a kill is about to happen or has happened. */
  urgent?: boolean;
}

export interface NotifierCounters {
  sent: number;
  failed: number;
  /** Left out because the same (rule, process) was notified within its cooldown. */
  deduplicated: number;
}

/** Attempts after the first, for every sender. */
const RETRIES = 3;
const TIMEOUT_MS = 10_000;
/** (rule, process) pairs remembered for dedup; the oldest is forgotten beyond it. */
const MAX_DEDUP_KEYS = 10_000;

/** The title and body of a notice, the same for every sender. */
export function noticeText(n: Notice): { title: string; body: string } {
  const who = n.pid === undefined ? '' : ` pid ${n.pid}${n.name ? ` (${n.name})` : ''}`;
  const title = `memwarden on ${hostname()}: ${n.target ?? n.rule}${who}`;
  const facts = [
    n.target === undefined ? undefined : `target ${n.target}`,
    `rule ${n.rule}`,
    n.rssBytes === undefined ? undefined : `RSS ${formatBytes(n.rssBytes)}`,
    n.slopeBytesPerSecond === undefined
      ? undefined
      : `growing ${formatBytes(n.slopeBytesPerSecond * 3600)}/h`,
    n.timeToOomSeconds === undefined
      ? undefined
      : `out of memory in ${formatDuration(n.timeToOomSeconds * 1000)}`,
  ].filter((x) => x !== undefined);
  return { title, body: `${n.message}\n${facts.join(', ')}\nmemwarden: ${n.doing}` };
}

type Send = (title: string, body: string, n: Notice) => Promise<{ ok: boolean; message: string }>;

/** nodemailer's transport, made only when e-mail is configured (and loaded only then). */
async function mailSender(email: NonNullable<NotifyConfig['email']>): Promise<Send> {
  const nodemailer = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: email.host,
    port: email.port,
    secure: email.secure ?? email.port === 465,
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
  });
  return async (title, body) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await transport.sendMail({ from: email.from, to: email.to, subject: title, text: body });
        return { ok: true, message: `mailed ${email.to.join(', ')}` };
      } catch (err) {
        if (attempt >= RETRIES) return { ok: false, message: `e-mail failed: ${String(err)}` };
        await new Promise((r) => setTimeout(r, backoffDelayMs(attempt, 500, 10_000)));
      }
    }
  };
}

/**
 * Sends notices to the configured places, beside the loop: `notify()` returns at once (the
 * promise is for those who want to wait, like the guard before a kill, and never rejects). A
 * (rule, process) pair is sent once per cooldown; each sender retries a bounded number of times
 * (HTTP through the shared WebhookSender, with its timeouts, backoff and capped queue).
 */
export class Notifier {
  readonly counters: NotifierCounters = { sent: 0, failed: 0, deduplicated: 0 };
  private readonly senders: Promise<[string, Send][]>;
  private readonly lastSent = new Map<string, number>();

  constructor(
    config: NotifyConfig,
    webhooks: WebhookSender,
    private readonly clock: () => number = () => performance.now(),
  ) {
    const senders: Promise<[string, Send]>[] = [];
    const http = (url: string, body: unknown) =>
      webhooks.send({ url, body, timeoutMs: TIMEOUT_MS, retries: RETRIES });
    if (config.slack !== undefined) {
      const url = config.slack;
      senders.push(Promise.resolve(['slack', (title, body) => http(url, { text: `*${title}*\n${body}` })]));
    }
    if (config.ntfy !== undefined) {
      // ntfy takes JSON at its root URL, the topic inside: titles and priorities come through intact.
      const url = new URL(config.ntfy);
      const topic = url.pathname.replace(/^\/+|\/+$/g, '');
      const root = `${url.origin}/`;
      senders.push(
        Promise.resolve([
          'ntfy',
          (title, body, n) =>
            http(root, { topic, title, message: body, priority: n.urgent ? 5 : 3, tags: ['warning'] }),
        ]),
      );
    }
    if (config.email !== undefined) senders.push(mailSender(config.email).then((send) => ['email', send]));
    if (config.desktop) {
      const notifySend = findOnPath(['notify-send']);
      if (notifySend !== undefined)
        senders.push(
          Promise.resolve([
            'desktop',
            async (title, body, n) =>
              runCommand({
                argv: [notifySend, '--urgency', n.urgent ? 'critical' : 'normal', '--', title, body],
                env: process.env,
                timeoutMs: TIMEOUT_MS,
                maxOutputBytes: 4096,
                killGraceMs: 1000,
              }),
          ]),
        );
    }
    this.senders = Promise.all(senders);
  }

  /**
   * Sends a notice unless the same (rule, process) went out less than `cooldownMs` ago. Resolves
   * with what each sender said; never rejects.
   */
  notify(n: Notice, cooldownMs: number): Promise<{ sender: string; ok: boolean; message: string }[]> {
    const key = `${n.rule}\0${n.pid ?? ''}\0${n.startTicks ?? ''}`;
    const now = this.clock();
    const last = this.lastSent.get(key);
    if (last !== undefined && now - last < cooldownMs) {
      this.counters.deduplicated++;
      return Promise.resolve([]);
    }
    this.lastSent.delete(key);
    this.lastSent.set(key, now);
    if (this.lastSent.size > MAX_DEDUP_KEYS)
      this.lastSent.delete(this.lastSent.keys().next().value as string);
    const { title, body } = noticeText(n);
    return this.senders
      .then((senders) =>
        Promise.all(
          senders.map(async ([name, send]) => {
            const outcome = await send(title, body, n).catch((err: unknown) => ({
              ok: false,
              message: String(err),
            }));
            if (outcome.ok) this.counters.sent++;
            else this.counters.failed++;
            return { sender: name, ok: outcome.ok, message: outcome.message };
          }),
        ),
      )
      .catch((err: unknown) => {
        this.counters.failed++;
        return [{ sender: 'notifier', ok: false, message: String(err) }];
      });
  }
}
