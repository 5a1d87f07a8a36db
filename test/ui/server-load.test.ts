import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DashboardServer, type HistorySource, LiveHistory, type SeriesQuery } from '../../src/ui/index.js';
import { fakeProcess, fakeTick } from '../helpers/ticks.js';

const execFileAsync = promisify(execFile);

/** 200 scrapes at once, after one to warm up; prints each status, latency and body as JSON. */
const SCRAPERS = `
const http = require('node:http');
const port = Number(process.argv[1]);
const get = () => new Promise((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
    let body = '';
    res.on('data', (c) => { body += c; });
    res.on('end', () => resolve({ status: res.statusCode, body }));
  }).on('error', reject);
});
get().then(() => Promise.all(Array.from({ length: 200 }, get))).then((a) => console.log(JSON.stringify(a)));
`;

describe('load on /metrics and the API (scenario 36)', () => {
  it('answers 200 concurrent scrapes, each with the one rendering of the tick (their latency: npm run bench scrape)', async () => {
    const history = new LiveHistory(10);
    const server = await DashboardServer.start({ port: 0, history, maxConcurrent: 64 });
    try {
      const processes = Array.from({ length: 2000 }, (_, i) => fakeProcess(i + 1));
      server.publish(
        fakeTick(
          Array.from({ length: 50 }, (_, i) => ({
            name: `t${i}`,
            processes: processes.slice(i * 40, i * 40 + 40),
          })),
        ),
      );
      // The scrapers run in another process so that they do not share the server's event loop.
      const client = await execFileAsync(process.execPath, ['-e', SCRAPERS, String(server.port)], {
        timeout: 30_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      const answers = JSON.parse(client.stdout) as { status: number; body: string }[];
      const served = answers.filter((a) => a.status === 200);
      assert.ok(
        answers.every((a) => a.status === 200 || a.status === 503),
        String(answers.map((a) => a.status)),
      );
      assert.ok(served.length >= 64, `${served.length} served`);
      assert.equal(new Set(served.map((a) => a.body)).size, 1);
    } finally {
      await server.close();
    }
  });

  it('caps a 30-day query at 1 s resolution by downsampling, and times out a slow store', async () => {
    const asked: SeriesQuery[] = [];
    const slow: HistorySource = {
      targets: () => ['api'],
      series: (q) => {
        asked.push(q);
        return [];
      },
      system: () => new Promise(() => {}),
      events: () => [],
    };
    const server = await DashboardServer.start({ port: 0, history: slow, queryTimeoutMs: 200 });
    try {
      const now = Date.now();
      const since = now - 30 * 86_400_000;
      const base = `http://127.0.0.1:${server.port}/api`;
      const series = await fetch(`${base}/series?target=api&since=${since}&until=${now}&points=2592000`);
      assert.equal(series.status, 200);
      assert.equal(asked[0]?.maxPoints, 2000);
      // A store that never answers: the 503 can only come from the query timeout.
      const system = await fetch(`${base}/system?since=${since}`);
      assert.equal(system.status, 503);
      assert.equal((await fetch(`${base}/series?target=api&since=-1`)).status, 400);
    } finally {
      await server.close();
    }
  });

  it('turns requests beyond the concurrency limit away with 503 and Retry-After', async () => {
    const hung: HistorySource = {
      targets: () => [],
      series: () => [],
      system: () => new Promise(() => {}),
      events: () => [],
    };
    const server = await DashboardServer.start({
      port: 0,
      history: hung,
      maxConcurrent: 1,
      queryTimeoutMs: 1500,
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const slow = fetch(`${base}/api/system`);
      await new Promise((r) => setTimeout(r, 200));
      const turned = await fetch(`${base}/metrics`);
      assert.equal(turned.status, 503);
      assert.equal(turned.headers.get('retry-after'), '1');
      assert.equal(server.rejected, 1);
      assert.equal((await slow).status, 503);
      assert.equal((await fetch(`${base}/metrics`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it('downsamples the live buffer to at most the asked number of points, keeping peaks', () => {
    const history = new LiveHistory(1000);
    const start = Date.now() - 1000 * 1000;
    for (let i = 0; i < 1000; i++)
      history.push(
        fakeTick(
          [{ name: 'api', processes: [fakeProcess(7, { rss: i === 500 ? 10_000 : 100 })] }],
          start + i * 1000,
        ),
      );
    const points = history.series({
      target: 'api',
      sinceMs: start,
      untilMs: start + 1_000_000,
      maxPoints: 50,
    });
    assert.equal(points.length, 50);
    assert.equal(Math.max(...points.map((p) => p.rss ?? 0)), 10_000);
    assert.equal(history.dropped.ticks, 0);
    history.push(fakeTick([], start + 2_000_000));
    assert.equal(history.dropped.ticks, 1);
  });
});
