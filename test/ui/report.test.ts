import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { collectReport, LiveHistory, renderReport } from '../../src/ui/index.js';
import { browserSkipReason, launchChromium, waitInPage } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { start, waitForLine } from '../helpers/processes.js';
import { fakeProcess, fakeTick } from '../helpers/ticks.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const HOSTILE = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
const MiB = 1024 * 1024;
const HOUR = 3_600_000;

/** Two hours of ticks a minute apart: `api` grows 1 MiB a minute, `quiet` stays flat. */
function history(now: number): LiveHistory {
  const h = new LiveHistory(500);
  for (let i = 0; i <= 120; i++) {
    // Memory pressure that peaks an hour ago: 40 % some, 12 % full.
    const stall = Math.max(0, 40 - Math.abs(i - 60));
    const line = (avg10: number) => ({ avg10, avg60: avg10, avg300: avg10, totalUs: i * 1000 });
    const tick = fakeTick(
      [
        {
          name: 'api',
          processes: [fakeProcess(10, { rss: 100 * MiB + i * MiB }), fakeProcess(11, { rss: 50 * MiB })],
          trend: { verdict: 'leak', slopeBytesPerSecond: MiB / 60, timeToLimitSeconds: 7200 },
        },
        {
          name: HOSTILE,
          processes: [fakeProcess(12, { rss: 10 * MiB, name: HOSTILE, cmdline: [HOSTILE] })],
        },
      ],
      now - 2 * HOUR + i * 60_000,
    );
    tick.system.pressure = { some: line(stall), full: line(stall * 0.3) };
    h.push(tick);
  }
  h.addEvent({
    time: now - HOUR,
    kind: 'rule.firing',
    target: 'api',
    pid: 10,
    rule: 'rss > 150MB',
    message: HOSTILE,
  });
  return h;
}

describe('HTML report', () => {
  const now = Date.now();
  const source = history(now);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'memwarden-report-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));

  it('summarises each target: peak, last, growth and the leak verdict', async () => {
    const data = await collectReport(source, { sinceMs: now - 3 * HOUR, untilMs: now + 1 });
    const api = data.targets.find((t) => t.name === 'api');
    assert.ok(api);
    assert.equal(api.peakRssBytes, 270 * MiB);
    // No member's PSS was read, so the group's total is its RSS, said as such.
    assert.equal(api.peakTotalBytes, 270 * MiB);
    assert.equal(api.peakTotalBasis, 'rss');
    assert.ok(api.points.every((p) => p.total === p.rss && p.basis === 'rss'));
    assert.equal(api.lastRssBytes, 270 * MiB);
    assert.equal(api.growthBytes, 120 * MiB);
    // Downsampled bucket times stand a little apart from the sample times.
    assert.ok(
      Math.abs((api.growthBytesPerHour ?? 0) / (60 * MiB) - 1) < 0.01,
      String(api.growthBytesPerHour),
    );
    assert.equal(api.processes, 2);
    assert.equal(api.trend?.verdict, 'leak');
    assert.equal(data.events.length, 1);
  });

  it('is one file that fetches nothing, with the data inlined and unable to end its element', async () => {
    const html = await renderReport(source, { sinceMs: now - 3 * HOUR });
    assert.doesNotMatch(html, /<script[^>]+src=/);
    assert.doesNotMatch(html, /<link[^>]+href=/);
    assert.match(html, /default-src 'none'; script-src 'sha256-/);
    assert.equal(html.match(/<\/script>/g)?.length, 4);
    const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)?.[1] ?? '';
    assert.ok(!json.includes('<'));
    assert.ok(JSON.stringify(JSON.parse(json)).includes(HOSTILE));
  });

  it('is written by memwarden report from the history a watcher kept', async (t) => {
    const target = start('python3', [join(FIXTURES, 'touna0627.py'), 'report-test']);
    await waitForLine(target, /ready/);
    const store = join(dir, 'history.db');
    const watch = await runCli([
      'watch',
      '--match',
      'touna0627.py report-test',
      '--interval',
      '100ms',
      '--count',
      '4',
      '--store',
      store,
    ]);
    assert.equal(watch.code, 0, watch.stderr);
    const file = join(dir, 'cli.html');
    const { code, stderr } = await runCli([
      'report',
      '--store',
      store,
      '--since',
      '1h',
      '-o',
      file,
      '--title',
      'nightly',
    ]);
    assert.equal(code, 0, stderr);
    const html = readFileSync(file, 'utf8');
    assert.match(html, /<title>nightly<\/title>/);
    const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)?.[1] ?? '';
    assert.ok(json.includes('touna0627.py report-test'));
    // The machine's pressure, as the watcher stored it each cycle, where the kernel keeps it.
    if (existsSync('/proc/pressure/memory')) {
      const system = (JSON.parse(json) as { system: { psiSome?: number; psiFull?: number }[] }).system;
      assert.ok(system.length > 0 && system.every((p) => p.psiSome !== undefined && p.psiFull !== undefined));
    } else t.diagnostic('no /proc/pressure/memory here: the stored pressure was not checked');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  it('says in one line that there is no history, and writes nothing', async () => {
    const out = join(dir, 'x.html');
    const { code, stderr } = await runCli([
      'report',
      '--store',
      join(dir, 'none.db'),
      '--since',
      '1h',
      '-o',
      out,
    ]);
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(join(dir, 'none.db')), false);
  });

  const skip = browserSkipReason();
  if (skip) console.log(`# skipping report-in-browser test: ${skip}`);
  it('opens offline in Chromium and shows its charts, names as text', { skip }, async () => {
    const file = join(dir, 'report.html');
    writeFileSync(file, await renderReport(source, { sinceMs: now - 3 * HOUR }));
    const { browser, close } = await launchChromium({ offline: true });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const dialogs: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`request ${r.url()}`);
      });
      page.on('dialog', async (d) => {
        dialogs.push(d.message());
        await d.dismiss();
      });
      await page.goto(pathToFileURL(file).href);
      await waitInPage(
        page,
        `document.querySelectorAll('section .chart canvas').length === 3 &&
         [...document.querySelectorAll('.chart')].every((c) => Number(c.dataset.points) > 100)`,
      );
      const headings = (await page.evaluate(
        `[...document.querySelectorAll('h2')].map((h) => h.textContent)`,
      )) as string[];
      assert.ok(headings.includes(HOSTILE), String(headings));
      assert.match((await page.textContent('body')) ?? '', /leak suspected, 60\.0 MiB\/h, limit in 2h00m/);
      // The machine chart draws memory pressure beside memory and CPU, and the peak is said.
      assert.equal(
        await page.evaluate(`document.querySelector('section.system .chart').dataset.pressure`),
        'true',
      );
      const legend = (await page.textContent('section.system .u-legend')) ?? '';
      assert.match(legend, /memory pressure some %/);
      assert.match(legend, /memory pressure full %/);
      // Each target's chart draws its group total, and the summary names the peak.
      const apiChart = '[data-target="api"]';
      assert.match((await page.textContent(`${apiChart} .u-legend`)) ?? '', /total \(RSS\)/);
      assert.match((await page.textContent(`${apiChart} .summary`)) ?? '', /peak total270 MiB \(RSS\)/);
      assert.equal(
        await page.textContent('section.system .pressure'),
        'memory pressure (10 s averages): peak 40.0% some, 12.0% full',
      );
      const shot = join(tmpdir(), 'memwarden-report.png');
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`# screenshot: ${shot}`);
      assert.equal(await page.evaluate('document.querySelectorAll("img").length'), 0);
      assert.deepEqual(problems, []);
      assert.deepEqual(dialogs, []);
    } finally {
      await close();
    }
  });
});
