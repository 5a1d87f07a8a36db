import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { browserSkipReason, launchChromium, waitInPage } from '../helpers/browser.js';
import { BIN, runCli } from '../helpers/cli.js';
import { start, waitForExit, waitForLine } from '../helpers/processes.js';
import { processSample, systemSample } from '../store/samples.js';

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-serve-store-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));
const config = join(scratch, 'memwarden.yaml');
const noPsi = existsSync('/proc/pressure/memory') ? false : 'this kernel keeps no /proc/pressure/memory';

/** Starts `memwarden serve ARGS` and resolves with its URL once it listens. */
async function serve(args: string[]) {
  const child = start(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', ...args]);
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stderr?.on('data', (c: Buffer) => {
      text += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error(`serve exited: ${text}`)));
  });
  return { child, url };
}

describe('the history a config names, read by history, report and serve', () => {
  before(async () => {
    const target = start(process.execPath, [
      '-e',
      'console.log("ready"); setInterval(() => {}, 1000)',
      'memwarden-serve-store-target',
    ]);
    await waitForLine(target, /ready/);
    // A relative store: taken from the config's directory, by the watcher and the readers alike.
    writeFileSync(
      config,
      'interval: 100ms\nstore: kept.db\ntargets:\n  - name: crawler\n    match: memwarden-serve-store-target\n',
    );
    const watch = await runCli(['watch', '-c', config, '--count', '5'], { cwd: tmpdir() });
    assert.equal(watch.code, 0, watch.stderr);
  });

  it('history -c FILE reads the store that config names', async () => {
    const { code, stdout, stderr } = await runCli(['history', 'crawler', '-c', config, '--json']);
    assert.equal(code, 0, stderr);
    assert.equal((JSON.parse(stdout) as unknown[]).length, 5);
  });

  it('history --system -c FILE prints the machine rows with their memory pressure', {
    skip: noPsi,
  }, async () => {
    const json = await runCli(['history', '--system', '-c', config, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const points = JSON.parse(json.stdout) as { pressure?: { some: object; full?: object } }[];
    assert.equal(points.length, 5);
    for (const p of points) {
      assert.deepEqual(Object.keys(p.pressure?.some ?? {}), ['avg10', 'avg60', 'avg300', 'totalUs']);
      assert.deepEqual(Object.keys(p.pressure?.full ?? {}), ['avg10', 'avg60', 'avg300', 'totalUs']);
    }
    const table = await runCli(['history', '--system', '-c', config]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout.split('\n')[0] ?? '', /^TIME\s+AVAILABLE\s+MEM%\s+CPU%\s+PSI SOME\s+PSI FULL$/);
    assert.equal(table.stdout.trim().split('\n').length, 6);
    const both = await runCli(['history', '--system', 'crawler', '-c', config]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--system takes no TARGET or PID/);
  });

  it('report -c FILE reads it too; -c and --store together are refused', async () => {
    const out = join(scratch, 'r.html');
    const report = await runCli(['report', '-c', config, '-o', out]);
    assert.equal(report.code, 0, report.stderr);
    const both = await runCli(['report', '-c', config, '--store', join(scratch, 'kept.db')]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either --store PATH or -c FILE, not both/);
  });

  it('serve -c FILE lists and charts the stored targets without a pattern for them', async () => {
    const { child, url } = await serve(['-c', config]);
    try {
      const targets = (await (await fetch(`${url}api/targets`)).json()) as { name: string }[];
      assert.deepEqual(
        targets.map((t) => t.name),
        ['crawler'],
      );
      const skip = browserSkipReason();
      if (skip) return;
      const { browser, close } = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(url);
        await waitInPage(
          page,
          `(() => {
            const section = document.querySelector('section.target[data-target="crawler"]');
            return Number(section?.querySelector('.chart')?.dataset.points) >= 2 &&
              /in the history only/.test(section.querySelector('.summary').textContent);
          })()`,
        );
        if (!noPsi) {
          // The stored machine rows chart their memory pressure.
          await waitInPage(
            page,
            `(() => {
              const chart = document.getElementById('system-chart');
              return chart.dataset.pressure === 'true' && Number(chart.dataset.points) >= 2;
            })()`,
          );
          const shot = join(tmpdir(), 'memwarden-serve-store.png');
          await page.screenshot({ path: shot, fullPage: true });
          console.log(`# screenshot: ${shot}`);
        }
      } finally {
        await close();
      }
    } finally {
      child.kill('SIGTERM');
      assert.equal(await waitForExit(child), 0);
    }
  });
});

describe('serve --store over a history younger than the range asked for', () => {
  it('averages the data over their own span, not the whole range', async () => {
    // Ten minutes a second apart, charted over an hour in 100 points: cut from the hour, the
    // buckets would be 36 s wide and the ten minutes some 17 points at the right edge; cut from
    // the ten minutes they are 7 s wide (the store rounds widths up to whole seconds).
    const path = join(scratch, 'young.db');
    const store = openStore(path, { maintenanceIntervalMs: 0 });
    const now = Date.now();
    for (let i = 600; i >= 1; i--) {
      const time = now - i * 1000;
      store.append({
        time,
        system: systemSample(time),
        processes: [{ target: 'web', sample: processSample({ time, rss: 100_000_000 + i * 1000 }) }],
      });
    }
    store.close();
    const { child, url } = await serve(['--store', path]);
    try {
      const range = `since=${now - 3_600_000}&until=${now}&points=100`;
      const series = (await (await fetch(`${url}api/series?target=web&${range}`)).json()) as {
        points: { time: number }[];
      };
      const system = (await (await fetch(`${url}api/system?${range}`)).json()) as {
        points: { time: number }[];
      };
      for (const [what, points] of [
        ['series', series.points],
        ['system', system.points],
      ] as const) {
        assert.ok(points.length >= 80 && points.length <= 101, `${what}: ${points.length} points`);
      }
    } finally {
      child.kill('SIGTERM');
      assert.equal(await waitForExit(child), 0);
    }
  });
});
