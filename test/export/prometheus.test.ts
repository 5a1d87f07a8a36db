import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN } from '../helpers/cli.js';
import { freePort } from '../helpers/http.js';
import { start, waitForExit, waitForLine } from '../helpers/processes.js';

const PROMETHEUS = '/usr/bin/prometheus';
const skip = existsSync(PROMETHEUS)
  ? undefined
  : `${PROMETHEUS} is not installed (scripts/setup-system.sh installs it)`;
if (skip) console.log(`# skipping the Prometheus test: ${skip}`);

interface QueryResult {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function poll<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

describe('scraped by a real Prometheus', { skip }, () => {
  let dir: string;
  let prometheus: ReturnType<typeof start>;
  let api = '';

  before(async () => {
    const target = start(process.execPath, [
      '-e',
      'setInterval(() => {}, 1000); console.log("ready")',
      'prom-target',
    ]);
    await waitForLine(target, /ready/);
    const metricsPort = await freePort();
    // The real daemon, as a user starts it.
    start(
      process.execPath,
      [
        BIN,
        'watch',
        '--match',
        'prom-target',
        '--interval',
        '500ms',
        '--no-store',
        '--listen',
        `127.0.0.1:${metricsPort}`,
      ],
      { stdio: 'ignore' },
    );
    await poll('memwarden watch to serve /metrics', 30_000, async () =>
      (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).ok ? true : undefined,
    );

    dir = mkdtempSync(join(tmpdir(), 'memwarden-prometheus-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: memwarden\n    static_configs:\n      - targets: ['127.0.0.1:${metricsPort}']\n`,
    );
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = start(PROMETHEUS, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    await poll('Prometheus to be ready', 30_000, async () =>
      (await fetch(`${api}/-/ready`)).ok ? true : undefined,
    );
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await waitForExit(prometheus);
    }
    if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  async function query(expr: string): Promise<QueryResult['data']['result']> {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as QueryResult;
    assert.equal(body.status, 'success');
    return body.data.result;
  }

  it('stores a memwarden series for the test target, with a value and no pid label', async () => {
    const [series] = await poll('a memwarden_target_rss_bytes series', 30_000, async () => {
      const result = await query('memwarden_target_rss_bytes{target="prom-target"}');
      return result.length > 0 ? result : undefined;
    });
    assert.ok(series);
    assert.equal(series.metric.job, 'memwarden');
    assert.equal(series.metric.pid, undefined);
    assert.ok(Number(series.value[1]) > 1024 * 1024, `rss ${series.value[1]}`);
    const [up] = await query('memwarden_up');
    assert.equal(up?.value[1], '1');
    const [processes] = await query('memwarden_target_processes{target="prom-target"}');
    assert.equal(processes?.value[1], '1');
    const [scrape] = await query('up{job="memwarden"}');
    assert.equal(scrape?.value[1], '1');
  });
});
