import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { DashboardServer, LiveHistory } from '../../src/ui/index.js';
import { Ticker } from '../../src/watch/ticker.js';
import { browserSkipReason, launchChromium, waitInPage } from '../helpers/browser.js';
import { makeUnifiedCgroup, moveInto, whyNoUnifiedPressure } from '../helpers/cgroups.js';
import { pidOf, start, waitForExec, waitForLine, waitUntil } from '../helpers/processes.js';

const HOSTILE = '<img src=x onerror=alert(1)>';
const noGroupPressure = whyNoUnifiedPressure();
const skip = browserSkipReason();
if (skip) console.log(`# skipping dashboard tests: ${skip}`);

describe('dashboard in Chromium', { skip }, () => {
  let server: DashboardServer;
  let sampler: Ticker;
  let timer: NodeJS.Timeout;
  let browser: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let dir: string;
  let hostilePid = 0;
  let familyPids: number[] = [];

  before(async () => {
    const target = start(process.execPath, [
      '-e',
      'const keep = []; setInterval(() => keep.push(Buffer.alloc(1 << 20, 1)), 100); console.log("ready")',
      'memwarden-dash-target',
    ]);
    await waitForLine(target, /ready/);
    // A program whose very file name is markup: its comm and argv[0] carry it.
    dir = mkdtempSync(join(tmpdir(), 'memwarden-xss-'));
    const hostileExe = join(dir, HOSTILE);
    copyFileSync('/bin/sleep', hostileExe);
    const hostile = start(hostileExe, ['3600']);
    hostilePid = pidOf(hostile);
    await waitForExec(hostilePid, 'onerror');
    // A process in a cgroup v2 group of its own: its chart draws the group's memory pressure.
    const marker = `memwarden-dash-psi-${process.pid}`;
    if (!noGroupPressure) {
      const idle = start(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker]);
      moveInto(makeUnifiedCgroup(), pidOf(idle));
    }

    // A family of three: its chart draws a line per member beside the total.
    const family = `memwarden-dash-family-${process.pid}`;
    familyPids = await Promise.all(
      [0, 1, 2].map(async () => {
        const child = start('bash', ['-c', `exec -a ${family} sleep 3600`]);
        await waitForExec(pidOf(child), family);
        return pidOf(child);
      }),
    );

    const history = new LiveHistory(1000);
    sampler = new Ticker([
      { name: 'dash-target', filter: { substrings: ['memwarden-dash-target'] } },
      { name: HOSTILE, filter: { substrings: ['onerror=alert(1)'] } },
      { name: 'psi-target', filter: { substrings: [marker] } },
      { name: 'family', filter: { substrings: [family] } },
    ]);
    server = await DashboardServer.start({ port: 0, history, refreshMs: 1000 });
    let ticks = 0;
    const tick = () => {
      ticks++;
      const t = sampler.tick();
      // The leak detector is not part of this loop: a verdict is set by hand to draw its line.
      const first = t.targets[0];
      if (first)
        first.trend = { verdict: 'leak', slopeBytesPerSecond: 10 * 1024 * 1024, timeToLimitSeconds: 5400 };
      history.push(t);
      server.publish(t);
    };
    tick();
    timer = setInterval(tick, 250);
    await waitUntil('the dashboard has a few ticks to chart', () => ticks >= 4);
    ({ browser, close: closeBrowser } = await launchChromium());
  });

  after(async () => {
    clearInterval(timer);
    await closeBrowser?.();
    await server?.close();
    sampler?.close();
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  it('renders a chart with data for the test target, without console errors', async (t) => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`));
    await page.goto(server.url);
    // Browser-side code is passed as text: this file is type-checked without the DOM library.
    await waitInPage(
      page,
      `(() => {
        const section = [...document.querySelectorAll('section.target')]
          .find((s) => s.getAttribute('data-target') === 'dash-target');
        const chart = section?.querySelector('.chart');
        return Number(chart?.dataset.points) >= 2 && chart.querySelector('canvas') !== null;
      })()`,
    );
    assert.match((await page.textContent('#system-summary')) ?? '', /memory .+ used of/);
    if (existsSync('/proc/pressure/memory')) {
      // The machine chart draws memory pressure from the live ticks, its latest value in the legend.
      await waitInPage(page, `document.getElementById('system-chart').dataset.pressure === 'true'`);
      const legend = (await page.textContent('#system-chart .u-legend')) ?? '';
      assert.match(legend, /memory pressure some %\s*\d+\.\d%/);
      assert.match(legend, /memory pressure full %\s*\d+\.\d%/);
      assert.match(
        (await page.textContent('#system-summary')) ?? '',
        /memory pressure \d+\.\d% some, \d+\.\d% full/,
      );
    } else t.diagnostic('no /proc/pressure/memory here: the pressure lines were not checked');
    assert.match(
      (await page.textContent('section.target .summary')) ?? '',
      /leak suspected, 35\.2 GiB\/h, limit in 1h30m/,
    );
    // Live: the same chart (no rebuild, no flicker) gains points as ticks arrive.
    const chartOf = `[...document.querySelectorAll('section.target')].find((s) => s.getAttribute('data-target') === 'dash-target').querySelector('.chart')`;
    const before = Number(
      await page.evaluate(
        `(() => { const c = ${chartOf}; c.querySelector('canvas').dataset.mark = 'kept'; return c.dataset.points; })()`,
      ),
    );
    await waitInPage(page, `Number(${chartOf}.dataset.points) > ${before}`);
    assert.equal(await page.evaluate(`${chartOf}.querySelector('canvas').dataset.mark`), 'kept');
    const shot = join(tmpdir(), 'memwarden-dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`# screenshot: ${shot}`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("charts a target's cgroup memory pressure on its own axis, the latest values in the legend", {
    skip: noGroupPressure,
  }, async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    const chartOf = `[...document.querySelectorAll('section.target')].find((s) => s.getAttribute('data-target') === 'psi-target')?.querySelector('.chart')`;
    await waitInPage(page, `${chartOf}?.dataset.pressure === 'true'`);
    const legend = (await page.textContent(`section.target[data-target="psi-target"] .u-legend`)) ?? '';
    assert.match(legend, /cgroup memory pressure some %\s*\d+\.\d%/);
    assert.match(legend, /cgroup memory pressure full %\s*\d+\.\d%/);
    // A target whose processes are in no group with PSI of their own draws no pressure line.
    assert.equal(
      await page.evaluate(`${chartOf.replace('psi-target', 'dash-target')}.dataset.pressure`),
      'false',
    );
    await page.close();
  });

  it("draws a line for each of a target's processes beside their total", async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    const chart = `section.target[data-target="family"] .chart`;
    await waitInPage(page, `document.querySelector('${chart}')?.dataset.members === '3'`);
    const labels = (await page.evaluate(
      `[...document.querySelectorAll('section.target[data-target="family"] .u-legend .u-label')].map((l) => l.textContent)`,
    )) as string[];
    for (const pid of familyPids) assert.ok(labels.includes(`pid ${pid}`), labels.join(', '));
    assert.ok(labels.includes('total (RSS)'), labels.join(', '));
    // A target of one process has no member lines: its RSS line is that process.
    assert.equal(
      await page.evaluate(
        `document.querySelector('section.target[data-target="dash-target"] .chart').dataset.members`,
      ),
      '0',
    );
    await page.close();
  });

  it('shows a process named as markup as text, and runs none of it (scenario 37)', async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    await page.goto(server.url);
    await waitInPage(
      page,
      `[...document.querySelectorAll('td.num')].some((td) => td.textContent === '${hostilePid}')`,
    );
    const shown = (await page.evaluate(`(() => {
      const hostile = ${JSON.stringify(HOSTILE)};
      const texts = [...document.querySelectorAll('h2, td.command, td.name')].map((n) => n.textContent ?? '');
      return {
        title: texts.includes(hostile),
        command: texts.some((t) => t.includes(hostile)),
        injected: document.querySelectorAll('img').length,
      };
    })()`)) as unknown;
    assert.deepEqual(shown, { title: true, command: true, injected: 0 });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(dialogs, []);
    await page.close();
  });

  it('asks before an action and POSTs it same-origin with the CSRF token', async () => {
    const page = await browser.newPage();
    const asked: string[] = [];
    page.on('dialog', async (d) => {
      asked.push(d.message());
      await d.accept();
    });
    await page.goto(server.url);
    const section = `[...document.querySelectorAll('section.target')].find((s) => s.getAttribute('data-target') === 'dash-target')`;
    await waitInPage(page, `${section}?.querySelector('button') != null`);
    await page.evaluate(`${section}.querySelector('button').click()`);
    await waitInPage(page, `/not available/.test(${section}.querySelector('.result').textContent)`);
    // The answer stays through the next redraws of the table.
    const updated = await page.textContent('#status');
    await waitInPage(page, `document.getElementById('status').textContent !== ${JSON.stringify(updated)}`);
    assert.match(
      (await page.evaluate(`${section}.querySelector('.result').textContent`)) as string,
      /not available/,
    );
    assert.deepEqual(asked.length, 1);
    assert.match(asked[0] ?? '', /^Run gc on pid \d+\?$/);
    await page.close();
  });
});
