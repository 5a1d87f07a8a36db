import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe("the library, imported as 'memwarden'", () => {
  it('lists processes, reads the machine and guards the current process', () => {
    const script = `
      const m = await import('memwarden');
      const { processes } = await m.listProcesses({ pids: [process.pid] }, { sampleMs: 20 });
      const system = await m.readSystem({ sampleMs: 20 });
      const g = m.guard({ heapUsedAbove: 1, intervalMs: 1000 });
      const crossed = g.check();
      g.stop();
      console.log(JSON.stringify({ pid: processes[0]?.pid, rss: processes[0]?.rss, total: system.memTotal, crossed: crossed.length,
        exported: ['collectGarbage', 'takeSnapshot', 'huntLeaks', 'detectTrend', 'diffSnapshots', 'openStore', 'Watcher'].filter((n) => typeof m[n] === 'function') }));`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(out.status, 0, out.stderr);
    const result = JSON.parse(out.stdout) as {
      pid: number;
      rss: number;
      total: number;
      crossed: number;
      exported: string[];
    };
    assert.ok(result.pid > 0 && result.rss > 0 && result.total > 0);
    assert.equal(result.crossed, 1);
    assert.equal(result.exported.length, 7);
  });
});
