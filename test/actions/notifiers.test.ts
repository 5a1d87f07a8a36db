import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { type Notice, Notifier, WebhookSender } from '../../src/actions/index.js';

interface Received {
  path: string;
  body: Record<string, unknown>;
}

/** A real HTTP server on a free loopback port that records each JSON body, failing the first `failFirst`. */
async function recorder(failFirst = 0): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  let failures = failFirst;
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        res.writeHead(503).end();
        return;
      }
      received.push({ path: req.url ?? '', body: JSON.parse(text) as Record<string, unknown> });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, server };
}

const servers: { close(): void }[] = [];
after(() => {
  for (const s of servers) s.close();
});

const NOTICE: Notice = {
  rule: 'crawler#1',
  target: 'crawler',
  pid: 4242,
  startTicks: 77,
  name: 'python3',
  rssBytes: 1.5 * 1024 ** 3,
  slopeBytesPerSecond: 50e6 / 3600,
  timeToOomSeconds: 5400,
  doing: 'about to gc, then signal',
  message: "crawler#1 fired 'rss > 1GB' on pid 4242 (python3): rss 1.50 GiB",
};

describe('notifiers', () => {
  it('posts a Slack message and an ntfy message naming process, target, RSS, rule, slope, time to OOM and what is done; retries a failing one', async () => {
    const slack = await recorder(1);
    const ntfy = await recorder();
    servers.push(slack.server, ntfy.server);
    const webhooks = new WebhookSender({ backoffBaseMs: 10, backoffMaxMs: 20 });
    const notifier = new Notifier(
      { slack: `${slack.url}/hooks/T1`, ntfy: `${ntfy.url}/my-alerts` },
      webhooks,
    );
    const results = await notifier.notify(NOTICE, 60_000);
    assert.deepEqual(
      results.map((r) => [r.sender, r.ok]),
      [
        ['slack', true],
        ['ntfy', true],
      ],
    );
    const text = String(slack.received[0]?.body.text);
    for (const part of [
      'pid 4242',
      'crawler',
      'RSS 1.50 GiB',
      'rule crawler#1',
      'growing 47.7 MiB/h',
      'out of memory in 1h30m',
      'about to gc, then signal',
    ])
      assert.ok(text.includes(part), `${part} in ${text}`);
    assert.equal(slack.received[0]?.path, '/hooks/T1');
    assert.deepEqual(
      { path: ntfy.received[0]?.path, topic: ntfy.received[0]?.body.topic },
      { path: '/', topic: 'my-alerts' },
    );
    assert.match(String(ntfy.received[0]?.body.title), /crawler pid 4242 \(python3\)/);
    // The same (rule, process) within the cooldown is not sent again; another process is.
    assert.deepEqual(await notifier.notify(NOTICE, 60_000), []);
    assert.equal(notifier.counters.deduplicated, 1);
    assert.equal((await notifier.notify({ ...NOTICE, pid: 4243 }, 60_000)).length, 2);
    webhooks.close();
  });

  it('gives up on a dead endpoint after its bounded retries, without blocking the caller', async () => {
    const dead = await recorder(100);
    servers.push(dead.server);
    const webhooks = new WebhookSender({ backoffBaseMs: 5, backoffMaxMs: 10 });
    const notifier = new Notifier({ slack: dead.url }, webhooks);
    let settled = false;
    const pending = notifier.notify(NOTICE, 0).then((r) => {
      settled = true;
      return r;
    });
    assert.equal(settled, false, 'notify returns before anything is sent');
    const [result] = await pending;
    assert.equal(result?.ok, false);
    assert.equal(notifier.counters.failed, 1);
    webhooks.close();
  });

  it('mails the notice through a real SMTP server', async () => {
    const mails: { from: string; to: string[]; text: string }[] = [];
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        let text = '';
        stream.on('data', (c: Buffer) => {
          text += c.toString();
        });
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            text,
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    servers.push(smtp);
    const { port } = smtp.server.address() as AddressInfo;
    const notifier = new Notifier(
      { email: { host: '127.0.0.1', port, from: 'memwarden@example.org', to: ['ops@example.org'] } },
      new WebhookSender(),
    );
    const [result] = await notifier.notify(NOTICE, 0);
    assert.equal(result?.ok, true, result?.message);
    assert.equal(mails.length, 1);
    assert.equal(mails[0]?.from, 'memwarden@example.org');
    assert.deepEqual(mails[0]?.to, ['ops@example.org']);
    assert.match(mails[0]?.text ?? '', /Subject: memwarden on .*crawler pid 4242/);
    assert.match(mails[0]?.text ?? '', /about to gc, then signal/);
  });
});
