import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { diffSnapshots, type GrowingClass, type HeapDiff } from '../../src/analysis/heap/index.js';
import { runCli } from '../helpers/cli.js';
import { HeapTarget } from './heap-fixture.js';

const RECORDS = 400;

function assertSessionRecordsOnTop(growing: readonly GrowingClass[], count: number): void {
  const top = growing[0];
  assert.ok(top, 'something grew');
  assert.equal(top.name, 'SessionRecord');
  assert.equal(top.countDelta, count);
  assert.ok(top.sizeDelta > 0);
  assert.ok(top.retainedSizeDelta >= top.sizeDelta);
  const path = top.retainers.join(' → ');
  assert.equal(top.retainers[0], '(root)');
  assert.match(path, /sessions → Map → table → SessionRecord$/);
}

describe('heap snapshot diff', () => {
  let target: HeapTarget;
  let idle: [string, string];
  let grown: [string, string, string];

  before(async () => {
    target = await HeapTarget.start();
    await target.grow(50);
    idle = [await target.snapshot(), await target.snapshot()];
    await target.grow(RECORDS);
    const second = await target.snapshot();
    await target.grow(RECORDS);
    grown = [idle[1], second, await target.snapshot()];
  });
  after(() => target?.dispose());

  it('names the leaking class first, with a retainer path through the Map', async () => {
    const diff = await diffSnapshots([grown[0], grown[1]]);
    assert.equal(diff.technique, 'two-snapshot');
    assertSessionRecordsOnTop(diff.growing, RECORDS);
    assert.equal(diff.snapshots.length, 2);
  });

  it('keeps to objects allocated between the first two and alive in the third with three snapshots', async () => {
    const diff = await diffSnapshots(grown);
    assert.equal(diff.technique, 'three-snapshot');
    // The second batch came after snapshot 2, so only the first counts.
    assertSessionRecordsOnTop(diff.growing, RECORDS);
  });

  it('reports no growth between two snapshots of a process that did not change', async () => {
    const diff = await diffSnapshots(idle);
    assert.deepEqual(diff.growing, []);
    const threeIdle = await diffSnapshots([idle[0], idle[1], await target.snapshot()]);
    assert.deepEqual(threeIdle.growing, []);
  });

  it('orders growth largest first within named classes and within engine kinds', async () => {
    const diff = await diffSnapshots([grown[0], grown[2]], { minCountDelta: 1, minSizeDeltaBytes: 1 });
    const engineStart = diff.growing.findIndex((g) => g.name.startsWith('('));
    const named = diff.growing.slice(0, engineStart === -1 ? undefined : engineStart);
    assert.ok(named.every((g) => !g.name.startsWith('(')));
    for (let i = 1; i < named.length; i++) {
      assert.ok(named[i - 1]!.retainedSizeDelta >= named[i]!.retainedSizeDelta);
    }
    assert.equal(diff.growing[0]?.countDelta, 2 * RECORDS);
  });

  it('caps the list and counts what it left out', async () => {
    const diff = await diffSnapshots([grown[0], grown[2]], { limit: 1 });
    assert.equal(diff.growing.length, 1);
    assert.equal(diff.growing[0]?.name, 'SessionRecord');
    assert.ok(diff.omitted > 0);
  });

  describe('through the CLI', () => {
    it('prints one JSON object with the growing classes', async () => {
      const result = await runCli(['diff', grown[0], grown[1], '--json']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      const diff = JSON.parse(result.stdout) as HeapDiff;
      assertSessionRecordsOnTop(diff.growing, RECORDS);
    });

    it('prints a table with the retainer path', async () => {
      const result = await runCli(['diff', ...grown]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /still alive in 3/);
      assert.match(result.stdout, /^SessionRecord +\+400 /m);
      assert.match(result.stdout, /held by: \(root\) → .*Map → table → SessionRecord$/m);
    });

    it('says so when nothing grew', async () => {
      const result = await runCli(['diff', ...idle]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /No class grew/);
    });

    it('fails with one line naming the file and byte offset for a truncated snapshot', async () => {
      const whole = await readFile(grown[0]);
      const cut = Math.floor(whole.length / 2);
      const truncated = join(target.dir, 'truncated.heapsnapshot');
      await writeFile(truncated, whole.subarray(0, cut));
      const result = await runCli(['diff', grown[0], truncated]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`^memwarden diff: ${truncated}: truncated heap snapshot: .* at byte ${cut}\n$`),
      );
    });

    it('fails with one line for a file that is not a snapshot', async () => {
      const notSnapshot = join(target.dir, 'package.json');
      await writeFile(notSnapshot, '{"name": "not a snapshot"}\n');
      const result = await runCli(['diff', notSnapshot, grown[0], '--json']);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(
        result.stderr,
        new RegExp(`^memwarden diff: ${notSnapshot}: not a V8 heap snapshot: .* at byte 1\n$`),
      );
    });

    it('rejects a wrong number of files as a usage error', async () => {
      const result = await runCli(['diff', grown[0]]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /expected 2 or 3 snapshot files/);
    });
  });
});
