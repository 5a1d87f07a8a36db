import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { sparkline, TopModel } from '../../src/ui/index.js';
import { BIN, runCli } from '../helpers/cli.js';
import { pidOf, start, waitForLine } from '../helpers/processes.js';
import { fakeProcess, fakeTick } from '../helpers/ticks.js';

describe('top, the model', () => {
  it('draws a sparkline scaled between the lowest and highest value', () => {
    assert.equal(sparkline([1, 2, 3, 4, 5, 6, 7, 8], 8), '▁▂▃▄▅▆▇█');
    assert.equal(sparkline([5, 5, 5], 8), '▁▁▁');
    assert.equal(
      [
        ...sparkline(
          Array.from({ length: 100 }, (_, i) => i),
          16,
        ),
      ].length,
      16,
    );
    assert.equal(sparkline([], 16), '');
  });

  it('shows growth only from a trend verdict, never extrapolated from seconds', () => {
    const t0 = 1_700_000_000_000;
    const mib = 1024 * 1024;
    let model = new TopModel(300_000);
    const at = (seconds: number, rss: number) =>
      model.update(
        fakeTick(
          [
            {
              name: 'api',
              processes: [fakeProcess(7, { rss, time: t0 + seconds * 1000, startTime: t0 - 86_400_000 })],
            },
          ],
          t0 + seconds * 1000,
        ),
      );
    const growthCell = () => {
      const lines = model.render(200, 40).lines;
      const header = lines[2] ?? '';
      const row = lines[3] ?? '';
      const end = header.indexOf('GROWTH/h') + 'GROWTH/h'.length;
      return row.slice(end - 9, end).trim();
    };
    const jsonRow = () => (model.json().processes as Record<string, unknown>[])[0] ?? {};
    // One second of a fast rise, then a collection that drops 60 MiB: no rate from either.
    at(0, 150 * mib);
    at(1, 151 * mib);
    assert.match(growthCell(), /^(-|\?\d+m)$/);
    assert.equal(jsonRow().growthBytesPerHour, undefined);
    at(2, 90 * mib);
    assert.match(growthCell(), /^(-|\?\d+m)$/);
    // A steady 60 MiB/h sampled every 10 s: after two minutes still no rate, after forty the
    // detector's slope.
    model = new TopModel(300_000);
    for (let s = 0; s <= 120; s += 10) at(s, 90 * mib + (s / 3600) * 60 * mib);
    assert.match(growthCell(), /^(-|\?\d+m)$/);
    assert.equal(jsonRow().growthBytesPerHour, undefined);
    for (let s = 130; s <= 2400; s += 10) at(s, 90 * mib + (s / 3600) * 60 * mib);
    const perHour = jsonRow().growthBytesPerHour;
    assert.ok(typeof perHour === 'number' && Math.abs(perHour / mib - 60) < 6, String(perHour));
    assert.match(growthCell(), /^\d+(\.\d+)? MiB$/);
  });

  it('shows the PSS column only when PSS is read', () => {
    const tick = fakeTick([{ name: 'api', processes: [fakeProcess(1, { pss: 50 * 1024 * 1024 })] }]);
    const without = new TopModel(300_000);
    without.update(tick);
    assert.doesNotMatch(without.render(200, 40).lines[2] ?? '', /PSS/);
    const withPss = new TopModel(300_000, true);
    withPss.update(tick);
    assert.match(withPss.render(200, 40).lines[2] ?? '', / PSS /);
    assert.match(withPss.render(200, 40).lines[3] ?? '', /50\.0 MiB/);
  });

  it('fits 80 columns: columns give way, COMMAND and the help line stay whole', () => {
    const model = new TopModel(300_000, true);
    model.update(
      fakeTick([
        {
          name: 'a-long-target-name',
          processes: [fakeProcess(4_194_303, { rss: 150 * 1024 ** 2, cmdline: ['node', 'server.js'] })],
        },
      ]),
    );
    for (const width of [80, 60, 40]) {
      const { lines } = model.render(width, 24);
      for (const line of lines) assert.ok([...line].length <= width, `${width}: ${line}`);
      assert.match(lines[2] ?? '', /^\s*PID .* COMMAND$/);
      assert.match(lines[3] ?? '', /^\s*4194303 .* node server\.js$/);
      assert.match(lines[1] ?? '', /sort: rss .*q/);
    }
    const { lines } = model.render(80, 24);
    assert.match(lines[0] ?? '', /^memwarden top .* mem .* avail /);
    assert.match(lines[1] ?? '', /q quit$/);
    // A width that has room for everything shows every column.
    assert.match(model.render(200, 24).lines[2] ?? '', /TARGET .* PSS .* LIM% .* LAST MINUTES .* LEAK/);
  });

  it('keeps the selection on its process through a re-sort, and gc asks about that process', () => {
    const model = new TopModel(300_000);
    const tick = (cpu1: number, cpu2: number) =>
      fakeTick([
        {
          name: 'api',
          processes: [
            fakeProcess(1, { rss: 10, cpuPercent: cpu1 }),
            fakeProcess(2, { rss: 20, cpuPercent: cpu2 }),
          ],
        },
      ]);
    const selectedPid = () => {
      const { lines, selectedLine } = model.render(200, 40);
      return Number((lines[selectedLine ?? -1] ?? '').trim().split(/\s+/)[0]);
    };
    model.update(tick(90, 5));
    assert.equal(selectedPid(), 2);
    model.key('s');
    assert.equal(model.sort, 'cpu');
    assert.equal(selectedPid(), 2);
    model.key('g');
    assert.match(model.render(200, 40).lines[1] ?? '', /Run gc on pid 2\?/);
    model.key('n');
    // The data re-sorts the rows under it too: once moved to pid 1, the selection stays on it.
    model.key('k');
    assert.equal(selectedPid(), 1);
    model.update(tick(1, 50));
    assert.equal(selectedPid(), 1);
    assert.deepEqual(
      (() => {
        model.key('g');
        return model.key('y');
      })(),
      { kind: 'action', action: 'gc', pid: 1, startTicks: 1001 },
    );
  });

  it('cycles the sort, filters, and asks before an action', () => {
    const model = new TopModel(300_000);
    model.update(
      fakeTick([
        {
          name: 'api',
          processes: [
            fakeProcess(1, { rss: 10, cpuPercent: 90, cmdline: ['api', '--port=1'] }),
            fakeProcess(2, { rss: 20, cpuPercent: 5, cmdline: ['worker'] }),
          ],
        },
      ]),
    );
    const pids = () =>
      model
        .render(200, 40)
        .lines.slice(3)
        .map((l) => Number(l.trim().split(/\s+/)[0]));
    assert.deepEqual(pids(), [2, 1]);
    assert.equal(model.render(200, 4).lines.length, 4);
    model.key('s');
    assert.equal(model.sort, 'cpu');
    assert.deepEqual(pids(), [1, 2]);
    for (const k of ['/', 'w', 'o', 'r', '\r']) model.key(k);
    assert.deepEqual(pids(), [2]);
    model.key('/');
    model.key('\x1b');
    assert.deepEqual(pids(), [1, 2]);
    model.key('\x1b[B');
    assert.equal(model.key('g').kind, 'none');
    assert.match(model.render(200, 40).lines[1] ?? '', /Run gc on pid 2\? \(y\/n\)/);
    assert.equal(model.key('n').kind, 'none');
    model.key('S');
    assert.deepEqual(model.key('y'), { kind: 'action', action: 'snapshot', pid: 2, startTicks: 1002 });
    assert.equal(model.key('q').kind, 'quit');
  });

  it('groups rows under a total per target, folds them, and keeps the selection on its row', () => {
    const mib = 1024 * 1024;
    const model = new TopModel(300_000, true, true);
    const tick = (apiRss: number) =>
      fakeTick([
        {
          name: 'api',
          processes: [
            fakeProcess(1, { rss: apiRss * mib, pss: 30 * mib, cpuPercent: 10 }),
            fakeProcess(2, { rss: 50 * mib, pss: 20 * mib, cpuPercent: 5 }),
          ],
        },
        { name: 'db', processes: [fakeProcess(3, { rss: 200 * mib, pss: 150 * mib })] },
        {
          name: 'cache',
          processes: [fakeProcess(4, { rss: 10 * mib }), fakeProcess(5, { rss: 10 * mib, pss: 5 * mib })],
        },
      ]);
    model.update(tick(50));
    const body = () => model.render(200, 40).lines.slice(3);
    const selected = () => {
      const { lines, selectedLine } = model.render(200, 40);
      return (lines[selectedLine ?? -1] ?? '').trim();
    };
    // Sorted by the totals' PSS: db 150, api 50, cache (one member without PSS: no PSS total).
    let rows = body();
    assert.equal(rows.length, 8, rows.join('\n'));
    assert.match(rows[0] ?? '', /^\s*▾ 1 db .*200 MiB .*150 MiB .* sum of PSS · 1 process · db$/);
    assert.match(rows[1] ?? '', /^\s*3 db /);
    assert.match(
      rows[2] ?? '',
      /^\s*▾ 2 api .*100 MiB .*50\.0 MiB .*15\.0% .* sum of PSS · 2 processes · api$/,
    );
    assert.match(
      rows[5] ?? '',
      /^\s*▾ 2 cache .*20\.0 MiB +- .* sum of RSS \(PSS unreadable for 1\) · 2 processes · cache$/,
    );
    // Without --pss the sums are of RSS and say so.
    const rssOnly = new TopModel(300_000, false, true);
    rssOnly.update(tick(50));
    assert.match(rssOnly.render(200, 40).lines[3] ?? '', / sum of RSS · 1 process · db$/);
    // The selection starts on the first total; down twice is api's total; folding it keeps it there.
    assert.match(selected(), /^▾ 1 db/);
    model.key('j');
    model.key('j');
    assert.match(selected(), /^▾ 2 api/);
    model.key('+');
    rows = body();
    assert.equal(rows.length, 6);
    assert.match(rows[2] ?? '', /^\s*▸ 2 api /);
    assert.match(selected(), /^▸ 2 api/);
    model.key('-');
    model.key('j');
    assert.match(selected(), /^1 api/);
    // A gc prompt is only for a process; on a total row it says so.
    model.key('k');
    assert.equal(model.key('g').kind, 'none');
    assert.match(model.render(200, 40).lines[1] ?? '', /select a member/);
    model.key('j');
    // A re-sort by the data: api grows past db, and the selection stays on pid 1.
    model.update(tick(500));
    model.key('s');
    model.key('s');
    model.key('s');
    model.key('s');
    assert.equal(model.sort, 'pid');
    assert.match(body()[0] ?? '', /^\s*▾ 2 api /);
    assert.match(selected(), /^1 api/);
    // Folding the member's group moves the selection to its total; * folds and unfolds all.
    model.key(' ');
    assert.match(selected(), /^▸ 2 api/);
    model.key('*');
    assert.equal(body().length, 3);
    assert.ok(body().every((l) => /^\s*▸ /.test(l)));
    model.key('*');
    assert.equal(body().length, 8);
    // t switches grouping off: the total's first member is the selection, and back on.
    model.key('t');
    assert.equal(body().length, 5);
    assert.match(selected(), /^1 api/);
    model.key('t');
    assert.match(model.render(200, 40).lines[1] ?? '', /grouped/);
    for (const width of [80, 60, 40]) {
      const { lines } = model.render(width, 24);
      for (const line of lines) assert.ok([...line].length <= width, `${width}: ${line}`);
      assert.match(lines[3] ?? '', /^\s*▾ 2 .* sum of PSS/);
    }
  });

  it('shows untrusted command lines with control characters escaped and secrets hidden', () => {
    const model = new TopModel(300_000);
    model.update(
      fakeTick([
        { name: 'x', processes: [fakeProcess(3, { cmdline: ['evil\x1b[2J', '--password=hunter2'] })] },
      ]),
    );
    const text = model.render(300, 40).lines.join('\n');
    assert.ok(!text.includes('\x1b'));
    assert.match(text, /evil\\x1b\[2J --password=\*\*\*/);
    assert.doesNotMatch(text, /hunter2/);
  });
});

describe('memwarden top with a real target', () => {
  let pid = 0;
  /** A second, idle and small one, started first: a lower pid, so sorting by pid moves it up. */
  let idlePid = 0;

  before(async () => {
    const idle = start(process.execPath, [
      '-e',
      'setInterval(() => {}, 1000); console.log("ready")',
      'memwarden-top-target',
    ]);
    await waitForLine(idle, /ready/);
    idlePid = pidOf(idle);
    const target = start(process.execPath, [
      // Its own inspector port: 9229 belongs to the tests that are about it.
      '--inspect-port=9344',
      '-e',
      'const keep = []; setInterval(() => keep.push(Buffer.alloc(1 << 19, 1)), 50); console.log("ready")',
      'memwarden-top-target',
    ]);
    await waitForLine(target, /ready/);
    pid = pidOf(target);
  });

  it('prints plain tables when stdout is not a terminal, and stops after --count', async () => {
    const { code, stdout, stderr } = await runCli([
      'top',
      'memwarden-top-target',
      '--count',
      '3',
      '--interval',
      '200ms',
    ]);
    assert.equal(code, 0, stderr);
    const blocks = stdout.trim().split('\n\n');
    assert.equal(blocks.length, 3);
    const row = blocks[2]?.split('\n').find((l) => l.trim().startsWith(String(pid))) ?? '';
    assert.match(row, /memwarden-top-target/);
    assert.match(row, /[▁▂▃▄▅▆▇█]{2,}/);
    assert.doesNotMatch(stdout, /\x1b/);
  });

  it('prints a total row per target with --group', async () => {
    const { code, stdout, stderr } = await runCli(['top', 'memwarden-top-target', '--group', '--count', '1']);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split('\n');
    assert.match(lines[2] ?? '', /^\s*▾ 2 memwarden-to .* sum of RSS · 2 processes · memwarden-top-target$/);
    assert.ok(lines.some((l) => l.trim().startsWith(`${pid} `)));
  });

  it('prints one JSON line per refresh with --json', async () => {
    const { code, stdout } = await runCli([
      'top',
      'memwarden-top-target',
      '--json',
      '--count',
      '2',
      '--interval',
      '200ms',
    ]);
    assert.equal(code, 0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { processes: Record<string, unknown>[] });
    assert.equal(lines.length, 2);
    const row = lines[1]?.processes.find((p) => p.pid === pid);
    // A fraction of a second is no evidence of growth: no rate yet.
    assert.ok(row && typeof row.rss === 'number' && !('growthBytesPerHour' in row), JSON.stringify(row));
    assert.equal(row.target, 'memwarden-top-target');
  });

  const tmuxMissing = existsSync('/usr/bin/tmux') ? undefined : 'tmux is not installed';
  if (tmuxMissing) console.log(`# skipping the tmux test: ${tmuxMissing}`);

  describe('in a terminal (tmux)', { skip: tmuxMissing }, () => {
    const socket = `memwarden-test-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    const screen = () => tmux('capture-pane', '-p', '-t', 'top');
    /** The pid on the row drawn in inverse video. */
    const selectedPid = () => {
      const line = tmux('capture-pane', '-p', '-e', '-t', 'top')
        .split('\n')
        .find((l) => l.includes('\x1b[7m'));
      return Number(
        line
          ?.replace(/\x1b\[[0-9;]*m/g, '')
          .trim()
          .split(/\s+/)[0],
      );
    };
    async function waitForScreen(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        last = screen();
        if (pattern.test(last)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`screen never matched ${pattern}:\n${last}`);
    }

    before(() => {
      tmux(
        '-f',
        '/dev/null',
        'new-session',
        '-d',
        '-s',
        'top',
        '-x',
        '80',
        '-y',
        '40',
        'bash --norc --noprofile',
      );
    });
    after(() => {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
    });

    it('shows the target, takes keys, and gives the terminal back on q', async () => {
      tmux(
        'send-keys',
        '-t',
        'top',
        `echo BEFORE-TOP; ${process.execPath} ${BIN} top memwarden-top-target --interval 300ms; echo TOP-EXIT-$?`,
        'Enter',
      );
      // At 80 columns some columns give way, and COMMAND and the help line are still there.
      // COMMAND starts with the node binary's path, cut where the row ends.
      let shown = await waitForScreen(new RegExp(`^\\s*${pid} memwarde .* /\\S+`, 'm'));
      assert.match(shown, /^memwarden top .* mem .* avail /m);
      assert.match(shown, /^\s*PID .* COMMAND$/m);
      assert.match(shown, /^sort: rss .*q quit$/m);
      assert.doesNotMatch(shown, /BEFORE-TOP/);
      // tmux wraps a longer line onto the next row: every row here is a line top drew.
      const rows = shown.split('\n').filter((l) => l.trim() !== '');
      assert.ok(rows.every((l) => [...l].length <= 80));
      assert.ok(
        rows.every((l) => /^(memwarden top|sort:|\s*PID|\s*\d+ )/.test(l)),
        shown,
      );

      // The growing target is the largest, so first and selected; sorted by pid the idle one
      // (started first) moves above it, and the selection and the gc prompt stay on the target.
      await waitForScreen(new RegExp(`^\\s*${pid} [^\\n]*\\n\\s*${idlePid} `, 'm'));
      assert.equal(selectedPid(), pid);
      tmux('send-keys', '-t', 'top', 's', 's', 's', 's');
      await waitForScreen(/^sort: pid/m);
      if (idlePid < pid) await waitForScreen(new RegExp(`^\\s*${idlePid} [^\\n]*\\n\\s*${pid} `, 'm'));
      assert.equal(selectedPid(), pid);
      tmux('send-keys', '-t', 'top', 'g');
      await waitForScreen(new RegExp(`^Run gc on pid ${pid}\\? \\(y/n\\)`, 'm'));
      assert.equal(selectedPid(), pid);
      tmux('send-keys', '-t', 'top', 'n');
      await waitForScreen(/gc cancelled/);

      tmux('send-keys', '-t', 'top', 's');
      await waitForScreen(/sort: rss/);
      // t groups the rows: a total row at 80 columns, folded with + and back with t.
      tmux('send-keys', '-t', 'top', 't');
      shown = await waitForScreen(/^\s*▾ 2 memwarde .* sum of RSS · 2 proc/m);
      assert.ok(shown.split('\n').every((l) => [...l].length <= 80));
      tmux('send-keys', '-t', 'top', 'k', '+');
      await waitForScreen(/^\s*▸ 2 memwarde /m);
      assert.doesNotMatch(screen(), new RegExp(`^\\s*${pid} `, 'm'));
      tmux('send-keys', '-t', 'top', 't');
      await waitForScreen(new RegExp(`^\\s*${pid} `, 'm'));
      assert.equal(selectedPid(), pid);
      tmux('send-keys', '-t', 'top', '/', 'zzz-nothing', 'Enter');
      await waitForScreen(/no process matches the filter/);
      tmux('send-keys', '-t', 'top', '/', 'Escape');
      await waitForScreen(new RegExp(`^\\s*${pid} `, 'm'));
      tmux('send-keys', '-t', 'top', 'g');
      await waitForScreen(new RegExp(`Run gc on pid ${pid}\\? \\(y/n\\)`));
      tmux('send-keys', '-t', 'top', 'y');
      // The result is cut with … where it meets the 80th column. The trim through lldb may take
      // most of the action's 30 s budget on a loaded machine.
      await waitForScreen(new RegExp(`gc on pid ${pid}: RSS .+ → .+ \\(collect `), 60_000);

      tmux('send-keys', '-t', 'top', 'q');
      shown = await waitForScreen(/TOP-EXIT-0/);
      assert.match(shown, /BEFORE-TOP/);
      assert.doesNotMatch(shown, /memwarden top/);
      tmux(
        'send-keys',
        '-t',
        'top',
        "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo | tr '\\n' ' '; echo STTY-$((1+1))-END",
        'Enter',
      );
      shown = await waitForScreen(/STTY-2-END$/m);
      assert.match(shown, /^icanon echo STTY-2-END$/m);
      assert.equal(tmux('display-message', '-p', '-t', 'top', '#{alternate_on}').trim(), '0');
    });
  });
});
