import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runAsNobody } from '../helpers/nobody.js';
import { pidOf, start, waitForExec } from '../helpers/processes.js';

const DIST_PROC = new URL('../../dist/proc/index.js', import.meta.url).pathname;

describe('an unprivileged reader', {
  skip: process.getuid?.() === 0 ? false : 'needs root to start a reader as another user',
}, () => {
  it("gets a partial record for root's process, not a crash and not a dead process (scenario 12)", async () => {
    const target = start('sleep', ['5151']);
    await waitForExec(pidOf(target), '5151');
    const script = `
      const { ProcReader } = await import(${JSON.stringify(DIST_PROC)});
      const reader = new ProcReader();
      const record = reader.read(${pidOf(target)}, { smaps: true });
      const all = reader.sweep({ smaps: true });
      console.log(JSON.stringify({ record, errors: reader.errors, swept: all.length }));`;
    const { record, errors, swept } = runAsNobody<{
      record: Record<string, unknown> & { rss: number };
      errors: { denied: number };
      swept: number;
    }>(script);
    assert.equal(record.pid, pidOf(target));
    assert.equal(record.user, 'root');
    assert.ok(record.rss > 0, 'stat is world-readable: memory is still known');
    assert.deepEqual(record.cmdline, ['sleep', '5151']);
    assert.equal(record.pss, undefined);
    assert.deepEqual(record.partial, ['smaps']);
    assert.ok(errors.denied > 0);
    assert.ok(swept > 10, 'every other process is still read');
  });
});
