import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { start, waitForLine } from '../helpers/processes.js';
import { tempDir } from './temp.js';

const SHARED_FAMILY = fileURLToPath(new URL('../fixtures/shared-family.py', import.meta.url));

interface Row {
  time: number;
  pid: number;
  rss?: number;
  pss?: number;
  total: { count: number; rss: number; pss: number | null; basis: 'pss' | 'rss' };
}

describe("a target's group totals in memwarden history", () => {
  it('sums the members of a real family at each stored time, PSS where all had it, else RSS', async () => {
    const marker = `memwarden-history-totals-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const family = start('python3', [SHARED_FAMILY, marker]);
    await waitForLine(family, /ready/, 60_000);
    const dir = tempDir();
    const store = join(dir, 'history.db');
    const config = join(dir, 'memwarden.yaml');
    // A total.pss rule makes the watcher read its members' PSS (on its budget, so not all at once).
    writeFileSync(
      config,
      `interval: 100ms\nstore: ${store}\ntargets:\n  - name: family\n    match: ${marker}\n    rules:\n      - when: total.pss > 100GB\n        do: [log]\n`,
    );
    const watch = await runCli(['watch', '-c', config, '--count', '12']);
    assert.equal(watch.code, 0, watch.stderr);

    const r = await runCli(['history', 'family', '--since', '1h', '--store', store, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Row[];
    const times = new Map<number, Row[]>();
    for (const row of rows) times.set(row.time, [...(times.get(row.time) ?? []), row]);
    assert.ok(times.size >= 2, r.stdout);
    let sawPss = false;
    for (const members of times.values()) {
      const total = members[0]?.total;
      assert.ok(total);
      for (const m of members) assert.deepEqual(m.total, total);
      assert.equal(total.count, members.length);
      assert.equal(
        total.rss,
        members.reduce((s, m) => s + (m.rss ?? 0), 0),
      );
      if (members.every((m) => m.pss !== undefined)) {
        sawPss = true;
        assert.equal(total.basis, 'pss');
        assert.equal(
          total.pss,
          members.reduce((s, m) => s + (m.pss ?? 0), 0),
        );
        // 200 MB shared five ways is counted once, not five times.
        assert.ok(total.pss < total.rss - 400 * 1024 * 1024, JSON.stringify(total));
      } else {
        assert.deepEqual([total.basis, total.pss], ['rss', null]);
      }
    }
    assert.ok(sawPss, 'no stored time had every member with PSS');
    assert.equal([...times.values()].at(-1)?.length, 5);

    const table = await runCli(['history', 'family', '--since', '1h', '--store', store]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout.split('\n')[0] ?? '', /^TIME\s+PID\s+RSS\s+PSS\s+MEM%\s+CPU%\s+TOTAL$/);
    const totals = table.stdout.split('\n').filter((l) => /\stotal 5\s/.test(l));
    assert.ok(
      totals.some((l) => / PSS$/.test(l)),
      table.stdout,
    );
    family.kill('SIGKILL');
  });
});
