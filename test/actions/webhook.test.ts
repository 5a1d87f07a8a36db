import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { ActionRunner, type ActionSpec, WebhookSender } from '../../src/actions/index.js';
import { ProcReader } from '../../src/proc/index.js';
import { contextFor, sampleOf } from '../helpers/action-context.js';
import { pidOf, start, waitForExec } from '../helpers/processes.js';

const servers: Server[] = [];
after(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server on loopback; `handle` decides each answer (or never answers). */
async function serve(handle: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  const received: Received[] = [];
  let open = 0;
  let maxOpen = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      handle(req, res, received.length);
    });
  });
  server.on('connection', (socket) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    socket.on('close', () => open--);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received, maxOpen: () => maxOpen };
}

async function someSample() {
  const child = start('sleep', ['2101']);
  await waitForExec(pidOf(child), '2101');
  return sampleOf(pidOf(child));
}

const hook = (url: string, more: Partial<Extract<ActionSpec, { kind: 'webhook' }>> = {}): ActionSpec => ({
  kind: 'webhook',
  url,
  timeoutMs: 2000,
  retries: 0,
  ...more,
});

describe('webhook actions', () => {
  it('posts the event as JSON with secret-looking arguments redacted', async () => {
    const server = await serve((_req, res) => res.writeHead(204).end());
    const child = start('python3', [
      '-c',
      'import time; time.sleep(1000)',
      '--password=hunter2',
      'token=abc123',
    ]);
    await waitForExec(pidOf(child), 'hunter2');
    const sample = sampleOf(pidOf(child));
    const runner = new ActionRunner({ identities: new ProcReader() });
    const result = await runner.run(
      hook(server.url, { headers: { 'x-memwarden-test': 'yes' } }),
      contextFor(sample, { values: { rssBytes: 1234 } }),
    );
    assert.equal(result.ok, true, result.message);
    assert.equal(result.attempts, 1);
    const [request] = server.received;
    assert.ok(request);
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['x-memwarden-test'], 'yes');
    assert.ok(!request.body.includes('hunter2') && !request.body.includes('abc123'), request.body);
    const body = JSON.parse(request.body);
    assert.equal(body.target, 'test-target');
    assert.equal(body.rule, 'rule-1');
    assert.deepEqual(body.values, { rssBytes: 1234 });
    assert.equal(body.process.pid, sample.pid);
    assert.equal(body.process.startTicks, sample.startTicks);
    assert.deepEqual(body.process.cmdline.slice(-2), ['--password=***', 'token=***']);
    await runner.close();
  });

  it('retries a 500 with backoff and succeeds', async () => {
    const server = await serve((_req, res, n) => res.writeHead(n <= 2 ? 500 : 200).end());
    const webhooks = new WebhookSender({ backoffBaseMs: 10 });
    const runner = new ActionRunner({ identities: new ProcReader(), webhooks });
    const result = await runner.run(hook(server.url, { retries: 3 }), contextFor(await someSample()));
    assert.equal(result.ok, true, result.message);
    assert.equal(result.attempts, 3);
    assert.equal(server.received.length, 3);
    assert.equal(webhooks.counters.retried, 2);
    await runner.close();
  });

  it('gives up after the retries and says why', async () => {
    const server = await serve((_req, res) => res.writeHead(503).end());
    const runner = new ActionRunner({
      identities: new ProcReader(),
      webhooks: new WebhookSender({ backoffBaseMs: 10 }),
    });
    const result = await runner.run(hook(server.url, { retries: 2 }), contextFor(await someSample()));
    assert.equal(result.code, 'HTTP_STATUS');
    assert.match(result.message, /503 after 3 attempts/);
    assert.equal(server.received.length, 3);
    await runner.close();
  });

  it('bounds an endpoint that never answers: timeouts, a capped queue and sockets, a caller never blocked (scenario 35)', async () => {
    const server = await serve(() => {
      // accepts and never answers
    });
    const webhooks = new WebhookSender({ maxConcurrent: 2, maxQueued: 3, backoffBaseMs: 10 });
    const runner = new ActionRunner({ identities: new ProcReader(), webhooks });
    const sample = await someSample();
    const began = Date.now();
    const pending = Array.from({ length: 12 }, (_, i) =>
      runner.run(hook(server.url, { timeoutMs: 100, retries: 1 }), contextFor(sample, { cycle: i })),
    );
    assert.ok(Date.now() - began < 1000, 'run() returned at once');
    const results = await Promise.all(pending);
    assert.ok(Date.now() - began < 10_000);
    const codes = new Set(results.map((r) => r.code));
    assert.ok(codes.has('TIMEOUT'), [...codes].join());
    assert.ok(codes.has('DROPPED'), [...codes].join());
    assert.ok(results.every((r) => !r.ok));
    assert.ok(webhooks.counters.dropped > 0);
    assert.equal(results.filter((r) => r.code === 'DROPPED').length, webhooks.counters.dropped);
    assert.ok(server.maxOpen() <= 2, `${server.maxOpen()} sockets at once`);
    await runner.close();
  });

  it('does not follow a redirect to a metadata address or to file://', async () => {
    for (const location of ['http://169.254.169.254/latest/meta-data/', 'file:///etc/passwd']) {
      const server = await serve((_req, res) => res.writeHead(302, { location }).end());
      const runner = new ActionRunner({ identities: new ProcReader() });
      const result = await runner.run(hook(server.url, { retries: 3 }), contextFor(await someSample()));
      assert.equal(result.ok, false);
      assert.equal(result.code, 'REDIRECT');
      assert.match(result.message, /redirect not followed/);
      assert.equal(server.received.length, 1, 'a redirect is not retried either');
      await runner.close();
    }
  });

  it('accepts only http and https URLs', async () => {
    const runner = new ActionRunner({ identities: new ProcReader() });
    const sample = await someSample();
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/x', 'not a url']) {
      const result = await runner.run(hook(url), contextFor(sample));
      assert.equal(result.code, 'BAD_URL', url);
      assert.equal(result.attempts, 0);
    }
    await runner.close();
  });
});
