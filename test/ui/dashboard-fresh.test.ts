import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { DashboardServer, LiveHistory } from '../../src/ui/index.js';
import { Ticker } from '../../src/watch/ticker.js';
import { browserSkipReason, launchChromium, waitInPage } from '../helpers/browser.js';
import { start, waitForLine } from '../helpers/processes.js';

const skip = browserSkipReason();
const shots = mkdtempSync(join(tmpdir(), 'memwarden-shots-'));
after(() => rmSync(shots, { recursive: true, force: true, maxRetries: 5 }));

describe('a dashboard only seconds old, in Chromium', { skip }, () => {
  let server: DashboardServer;
  let history: LiveHistory;
  let sampler: Ticker;
  let timer: NodeJS.Timeout;
  let browser: BrowserContext;
  let closeBrowser: () => Promise<void>;
  const startedMs = Date.now();

  before(async () => {
    const target = start(process.execPath, [
      '-e',
      'const keep = []; setInterval(() => keep.push(Buffer.alloc(1 << 19, 1)), 100); console.log("ready")',
      'memwarden-fresh-target',
    ]);
    await waitForLine(target, /ready/);
    history = new LiveHistory(1000);
    sampler = new Ticker([{ name: 'fresh', filter: { substrings: ['memwarden-fresh-target'] } }]);
    server = await DashboardServer.start({ port: 0, history, refreshMs: 1000 });
    const tick = () => {
      const t = sampler.tick();
      history.push(t);
      server.publish(t);
    };
    tick();
    timer = setInterval(tick, 250);
    ({ browser, close: closeBrowser } = await launchChromium());
  });

  after(async () => {
    clearInterval(timer);
    await closeBrowser?.();
    await server?.close();
    sampler?.close();
  });

  it('spans the chart over the data, not over the whole hour, with the latest values in the legend', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.goto(server.url);
    const chart = `document.querySelector('section.target[data-target="fresh"] .chart')`;
    await waitInPage(page, `Number(${chart}?.dataset.points) >= 8`).catch(async (err) => {
      const status = await page.textContent('#status');
      throw new Error(`${err.message}; status: ${status}; ${problems.join('; ')}`);
    });
    // The axis starts a little before the first sample, not an hour before now.
    const xMin = Number(await page.evaluate(`${chart}.dataset.xMin`));
    assert.ok(xMin * 1000 > startedMs - 60_000, `axis starts at ${new Date(xMin * 1000).toISOString()}`);
    // With the cursor off the chart, the legend shows the last RSS, not a dash.
    const legend = String(await page.evaluate(`${chart}.querySelector('.u-legend').textContent`));
    assert.match(legend, /\d+(\.\d+)? (KiB|MiB|GiB)/, legend);
    // The group's total beside its members' sums, said as PSS or RSS.
    assert.match(legend, /total \((PSS|RSS)\)\s*\d+(\.\d+)? (KiB|MiB|GiB)/, legend);
    const summary = String(await page.textContent('section.target[data-target="fresh"] .summary'));
    assert.match(summary, /^1 process, RSS /);
    // Five events of one tick (a rule firing on five processes): one marker on the target's
    // chart, its label naming all five; the machine's one event on the machine's chart alone.
    const now = Date.now();
    for (let i = 0; i < 5; i++)
      history.addEvent({ time: now - 1000 + i, kind: 'rule-fired', target: 'fresh', message: `fired ${i}` });
    history.addEvent({ time: now - 500, kind: 'oom-killed', target: '', message: 'a kill elsewhere' });
    const marks = (selector: string) => `(${selector}?.dataset.eventMarks ?? '').split(' ').filter(Boolean)`;
    await waitInPage(
      page,
      `${marks(chart)}.length === 1 && ${marks("document.querySelector('#system-chart')")}.length === 1`,
    ).catch(async (err) => {
      const seen = await page.evaluate(
        `[${chart}.dataset.eventMarks, document.querySelector('#system-chart').dataset.eventMarks, document.getElementById('events').textContent]`,
      );
      throw new Error(`${err.message}; markers seen: ${JSON.stringify(seen)}`);
    });
    // Hover the marker: a mouse move at its x, made in the page so that no refresh (which moves
    // a live chart's axis) comes between finding the marker and reading the label.
    const hover = `(() => {
      const over = ${chart}.querySelector('.u-over');
      const r = over.getBoundingClientRect();
      const x = Number(${marks(chart)}[0]);
      over.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + x, clientY: r.top + 5, bubbles: true }));
      return over.title;
    })()`;
    await waitInPage(page, `/fired 0[\\s\\S]*fired 4/.test(${hover})`).catch(async (err) => {
      const seen = await page.evaluate(`[${hover}, ${chart}.dataset.eventMarks]`);
      throw new Error(`${err.message.split('\n')[0]}; seen ${JSON.stringify(seen)}`);
    });
    const label = String(await page.evaluate(hover));
    assert.equal(label.split('\n').length, 5, label);
    assert.doesNotMatch(label, /a kill elsewhere/);
    await page.evaluate(`${chart}.querySelector('.u-over').dispatchEvent(new MouseEvent('mouseleave'))`);
    const file = join(process.env.MEMWARDEN_SHOTS ?? shots, 'dashboard-fresh.png');
    await page.screenshot({ path: file, fullPage: true });
    assert.deepEqual(problems, []);
  });
});
