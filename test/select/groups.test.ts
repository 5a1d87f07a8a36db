import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { containerIdOf, unitOf } from '../../src/select/index.js';
import { runCli } from '../helpers/cli.js';
import { pidOf, start, waitForExec, waitForExit, waitForLine } from '../helpers/processes.js';

const MiB = 1024 * 1024;

/** A parent and four forked workers that all read one 200 MB shared anonymous mapping. */
const SHARED_FAMILY = fileURLToPath(new URL('../fixtures/shared-family.py', import.meta.url));

function pssOf(pid: number): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1]) * 1024;
}

describe('groups of processes', () => {
  it('counts a family that shares 200 MB once: the sum of PSS, far below the sum of RSS', async () => {
    const marker = `memwarden-shared-family-${process.pid}`;
    const family = start('python3', [SHARED_FAMILY, marker]);
    await waitForLine(family, /ready/, 60_000);
    const result = await runCli(['ps', marker, '--group-by', 'parent', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const groups = JSON.parse(result.stdout) as {
      group: string;
      processes: number;
      pids: number[];
      rss: number;
      pss: number;
      pssFromRss: number[];
    }[];
    assert.equal(groups.length, 1, result.stdout);
    const [group] = groups;
    assert.ok(group);
    assert.equal(group.processes, 5);
    assert.ok(group.group.startsWith(`${pidOf(family)} `), group.group);
    assert.deepEqual(group.pssFromRss, []);
    // smem's accounting: the sum of each member's own Pss line, read now.
    const reference = group.pids.reduce((sum, pid) => sum + pssOf(pid), 0);
    assert.ok(Math.abs(group.pss - reference) <= reference * 0.05, `${group.pss} vs ${reference}`);
    assert.ok(group.rss - group.pss >= 500 * MiB, `rss ${group.rss}, pss ${group.pss}`);
    // The workers share the parent's process group (and its stdout): kill them all.
    process.kill(-pidOf(family), 'SIGKILL');
    await waitForExit(family);
  });

  it('names the unit and the container a cgroup path carries', () => {
    assert.equal(unitOf('/system.slice/redis-server.service'), 'redis-server.service');
    assert.equal(unitOf('/user.slice/user-0.slice/session-3.scope'), 'session-3.scope');
    assert.equal(unitOf('/system.slice'), 'system.slice');
    const id = 'ab'.repeat(32);
    for (const path of [
      `/docker/${id}`,
      `/system.slice/docker-${id}.scope`,
      `/machine.slice/libpod-${id}.scope`,
      `/kubepods/besteffort/pod1234/${id}`,
      `/kubepods.slice/kubepods-pod1.slice/cri-containerd-${id}.scope`,
    ]) {
      assert.equal(containerIdOf(path), id, path);
    }
    assert.equal(containerIdOf(`/machine.slice/libpod-conmon-${id}.scope`), undefined);
    assert.equal(containerIdOf('/system.slice/redis-server.service'), undefined);
  });
});

describe('targets named by cgroup, unit and container', () => {
  const v1 = '/sys/fs/cgroup/memory';
  const top = `mw-groups-${process.pid}`;
  const unit = `demo-${process.pid}.service`;
  const id = `${process.pid.toString(16).padStart(8, '0')}${'c0ffee'.repeat(10)}00`.slice(0, 64);
  const serviceDir = `${v1}/${top}/system.slice/${unit}`;
  const containerDir = `${v1}/${top}/docker/${id}`;
  const scratch = mkdtempSync(join(tmpdir(), 'memwarden-groups-'));
  const made: string[] = [];

  after(() => {
    for (const dir of made.reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        // still holding a process that is being reaped, or already gone
      }
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  it('finds a service, a container and a whole cgroup subtree by their cgroup paths', async (t) => {
    if (!existsSync(`${v1}/memory.limit_in_bytes`)) {
      t.skip('no cgroup v1 memory controller here to make cgroups in');
      return;
    }
    for (const dir of [
      `${v1}/${top}`,
      `${v1}/${top}/system.slice`,
      serviceDir,
      `${v1}/${top}/docker`,
      containerDir,
    ]) {
      mkdirSync(dir);
      made.push(dir);
    }
    const service = start('sleep', ['31701']);
    const container = start('sleep', ['31702']);
    try {
      await waitForExec(pidOf(service), '31701');
      await waitForExec(pidOf(container), '31702');
      writeFileSync(`${serviceDir}/cgroup.procs`, String(pidOf(service)));
      writeFileSync(`${containerDir}/cgroup.procs`, String(pidOf(container)));

      const pidsOf = async (args: string[]): Promise<number[]> => {
        const r = await runCli(['ps', ...args, '--json', '--sample', '10ms']);
        assert.equal(r.code, 0, r.stderr);
        return (JSON.parse(r.stdout) as { pid: number }[]).map((p) => p.pid).sort((a, b) => a - b);
      };
      const both = [pidOf(service), pidOf(container)].sort((a, b) => a - b);
      assert.deepEqual(await pidsOf(['--cgroup', `/${top}`]), both);
      assert.deepEqual(await pidsOf(['--cgroup', `${v1}/${top}/docker/*`]), [pidOf(container)]);
      assert.deepEqual(await pidsOf(['--unit', unit]), [pidOf(service)]);
      assert.deepEqual(await pidsOf(['--unit', unit.replace(/\.service$/, '')]), [pidOf(service)]);
      assert.deepEqual(await pidsOf(['--container', id.slice(0, 12)]), [pidOf(container)]);

      const grouped = await runCli(['ps', '--cgroup', `/${top}`, '--group-by', 'cgroup', '--json']);
      assert.equal(grouped.code, 0, grouped.stderr);
      const keys = (JSON.parse(grouped.stdout) as { group: string }[]).map((g) => g.group).sort();
      assert.deepEqual(keys, [`/${top}/docker/${id}`, `/${top}/system.slice/${unit}`]);

      const config = join(scratch, 'units.yaml');
      writeFileSync(
        config,
        `store: false\ntargets:\n  - name: demo\n    match: { unit: ${unit} }\n  - name: box\n    match: { container: ${id.slice(0, 12)} }\n`,
      );
      const check = await runCli(['check', '-c', config, '--json']);
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, new RegExp(`"pid":\\s*${pidOf(service)}\\b`));
      assert.match(check.stdout, new RegExp(`"pid":\\s*${pidOf(container)}\\b`));
    } finally {
      for (const child of [service, container]) {
        child.kill('SIGKILL');
        await waitForExit(child);
      }
    }
  });

  it('refuses a container that is not an id prefix, naming it', async () => {
    const r = await runCli(['ps', '--container', 'my-app']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /container 'my-app' is not a container id/);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
  });
});
