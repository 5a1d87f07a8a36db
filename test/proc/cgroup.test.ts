import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseCgroupFile, readCgroupMemory } from '../../src/proc/index.js';
import { listProcesses } from '../../src/sample/index.js';
import { pidOf, start, waitForExec, waitForExit } from '../helpers/processes.js';

const LIMIT_BYTES = 256 * 1024 * 1024;

/** A memory cgroup with a limit, v1 where the memory controller is v1 (as here), else v2. */
function makeCgroup(name: string): { dir: string; procs: string; path: string } | string {
  const v1 = '/sys/fs/cgroup/memory';
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
  const [root, limitFile] = existsSync(`${v1}/memory.limit_in_bytes`)
    ? [v1, 'memory.limit_in_bytes']
    : [v2, 'memory.max'];
  const dir = `${root}/${name}`;
  try {
    mkdirSync(dir);
    writeFileSync(`${dir}/${limitFile}`, String(LIMIT_BYTES));
  } catch (err) {
    return `cannot create a memory cgroup with a limit here (${(err as Error).message})`;
  }
  return { dir, procs: `${dir}/cgroup.procs`, path: `/${name}` };
}

describe('cgroup memory limit', () => {
  it("reports the cgroup's path, its limit and RSS as a percentage of it", async (t) => {
    const cgroup = makeCgroup(`memwarden-test-${process.pid}`);
    if (typeof cgroup === 'string') {
      t.skip(cgroup);
      return;
    }
    const sleeper = start('sleep', ['31700']);
    try {
      await waitForExec(pidOf(sleeper), '31700');
      writeFileSync(cgroup.procs, String(pidOf(sleeper)));
      const { processes } = await listProcesses({ pids: [pidOf(sleeper)] }, { sampleMs: 10 });
      const [p] = processes;
      assert.ok(p?.rss !== undefined);
      assert.equal(p.cgroup, cgroup.path);
      assert.equal(p.cgroupLimitBytes, LIMIT_BYTES);
      assert.ok(Math.abs((p.memLimitPercent ?? 0) - (p.rss / LIMIT_BYTES) * 100) < 1e-9);
      // The test process's own cgroup: a percentage exactly when that cgroup has a limit.
      const ownLimit = readCgroupMemory(
        parseCgroupFile(readFileSync('/proc/self/cgroup', 'utf8')),
      )?.limitBytes;
      const { processes: mine } = await listProcesses({ pids: [process.pid] }, { sampleMs: 10 });
      assert.equal(mine[0]?.cgroupLimitBytes, ownLimit);
      assert.equal(mine[0]?.memLimitPercent === undefined, ownLimit === undefined);
    } finally {
      sleeper.kill('SIGKILL');
      await waitForExit(sleeper);
      rmdirSync(cgroup.dir);
    }
  });
});
