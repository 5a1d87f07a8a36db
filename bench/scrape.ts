/**
 * What Prometheus and the dashboard feel under load (scenario 36): 200 concurrent `/metrics`
 * scrapes of 50 targets × 40 processes, served from the one rendering each tick makes, next to
 * a server that renders the exposition for every scrape; then the longest stall of the event
 * loop (where the watcher samples) while 100 scrapes and 20 month-long chart queries run.
 * The scrapers run in another process, so they do not share the server's loop. Prints; asserts
 * nothing (the tests check the answers, never their time).
 *
 *   npm run bench scrape
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { METRICS_CONTENT_TYPE, renderMetrics, type Tick } from '../src/export/index.js';
import { DashboardServer, LiveHistory } from '../src/ui/index.js';
import { fakeProcess, fakeTick } from '../test/helpers/ticks.js';
import { median } from './lib.js';

const execFileAsync = promisify(execFile);

/** One warm-up scrape, then 200 at once; prints each latency in ms as a JSON array. */
const SCRAPERS = `
const http = require('node:http');
const port = Number(process.argv[1]);
const get = () => new Promise((resolve, reject) => {
  const started = performance.now();
  http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
    res.resume();
    res.on('end', () => resolve(performance.now() - started));
  }).on('error', reject);
});
get().then(() => Promise.all(Array.from({ length: 200 }, get))).then((a) => console.log(JSON.stringify(a)));
`;

function crowdTick(): Tick {
  const processes = Array.from({ length: 2000 }, (_, i) => fakeProcess(i + 1));
  return fakeTick(
    Array.from({ length: 50 }, (_, i) => ({
      name: `t${i}`,
      processes: processes.slice(i * 40, i * 40 + 40),
    })),
  );
}

async function scrapeLatencies(port: number): Promise<number[]> {
  const { stdout } = await execFileAsync(process.execPath, ['-e', SCRAPERS, String(port)], {
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return (JSON.parse(stdout) as number[]).sort((a, b) => a - b);
}

function row(name: string, ms: number[], reference?: number[]): string {
  const p99 = ms[Math.floor(ms.length * 0.99)] ?? Number.NaN;
  const mid = median(ms);
  const ratio = reference ? (mid / median(reference)).toFixed(2) : '1.00';
  const cells = [
    mid.toFixed(1).padStart(10),
    ratio.padStart(7),
    p99.toFixed(1).padStart(10),
    (ms.at(-1) ?? 0).toFixed(1).padStart(10),
  ];
  return `${name.padEnd(34)}${cells.join('')}\n`;
}

async function renderedPerScrape(tick: Tick): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE });
    res.end(renderMetrics(tick, { count: 0 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function loopStallMs(): Promise<number> {
  // A day at 5 s with 20 processes: 345 600 samples in the live buffer.
  const history = new LiveHistory(17_280);
  const start = Date.now() - 86_400_000;
  const processes = Array.from({ length: 20 }, (_, i) => fakeProcess(i + 1));
  for (let i = 0; i < 17_280; i++) history.push(fakeTick([{ name: 'api', processes }], start + i * 5000));
  const server = await DashboardServer.start({ port: 0, history });
  server.publish(history.latest() ?? fakeTick([]));
  const delay = monitorEventLoopDelay({ resolution: 10 });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const since = Date.now() - 30 * 86_400_000;
    delay.enable();
    await execFileAsync(
      process.execPath,
      [
        '-e',
        `Promise.all([
          ...Array.from({ length: 100 }, () => fetch('${base}/metrics').then((r) => r.text())),
          ...Array.from({ length: 10 }, () => fetch('${base}/api/series?target=api&since=${since}&points=2000').then((r) => r.text())),
          ...Array.from({ length: 10 }, () => fetch('${base}/api/system?since=${since}&points=2000').then((r) => r.text())),
        ])`,
      ],
      { timeout: 120_000 },
    );
    delay.disable();
    return delay.max / 1e6;
  } finally {
    await server.close();
  }
}

export async function benchScrape(): Promise<void> {
  const tick = crowdTick();
  const dashboard = await DashboardServer.start({ port: 0, history: new LiveHistory(10) });
  let cached: number[];
  try {
    dashboard.publish(tick);
    cached = await scrapeLatencies(dashboard.port);
  } finally {
    await dashboard.close();
  }
  const naive = await renderedPerScrape(tick);
  let perScrape: number[];
  try {
    perScrape = await scrapeLatencies((naive.address() as AddressInfo).port);
  } finally {
    await new Promise((resolve) => naive.close(resolve));
  }
  process.stdout.write('\nscrape: 200 concurrent /metrics scrapes, 50 targets × 40 processes\n');
  process.stdout.write(
    `${'server'.padEnd(34)}${'median ms'.padStart(10)}${'ratio'.padStart(7)}${'p99 ms'.padStart(10)}${'max ms'.padStart(10)}\n`,
  );
  process.stdout.write(row('memwarden (one rendering a tick)', cached));
  process.stdout.write(row('rendered for every scrape', perScrape, cached));
  process.stdout.write(
    "(ratio: median to memwarden's; the budget is a second, well inside a 10 s scrape timeout)\n",
  );
  const stall = await loopStallMs();
  process.stdout.write(
    `longest event-loop stall under 100 scrapes + 20 month-long chart queries: ${stall.toFixed(1)} ms (budget: 20 % of a 5 s interval, 1000 ms)\n`,
  );
}
