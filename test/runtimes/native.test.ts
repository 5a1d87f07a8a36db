import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { nativeProbes, nativeTrim } from '../../src/runtimes/native/index.js';
import { isAlive, pidOf, start, waitForExec, waitForLine } from '../helpers/processes.js';
import { descendantsOf, FIXTURES, NO_LLDB, stateOf, tracerOf } from './targets.js';

const MB = 1024 * 1024;
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-native-test-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

/** A statically linked program (no libc.so.6 mapped), or a reason why none could be built. */
function staticProgram(): string | { skip: string } {
  const source = join(scratch, 'pause.c');
  const binary = join(scratch, 'pause-static');
  writeFileSync(source, '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n');
  try {
    execFileSync('cc', ['-static', '-O2', '-o', binary, source], { stdio: 'ignore' });
    return binary;
  } catch {
    return { skip: 'cc -static is not available here (no compiler or no static libc)' };
  }
}

describe('nativeTrim', { skip: NO_LLDB }, () => {
  it('gives freed malloc memory back in a process that pinned its heap, which keeps running', async () => {
    const child = start('python3', [join(FIXTURES, 'py_malloc_churn.py')]);
    await waitForLine(child, /^ready/, 60_000);
    const pid = pidOf(child);
    assert.equal(nativeProbes(pid).trim.available, true);
    const result = await nativeTrim(pid, { intrusive: true, timeoutMs: 20_000 });
    const { rssBeforeBytes = 0, rssAfterBytes = Number.POSITIVE_INFINITY } = result;
    console.log(
      `  malloc_trim: released ${result.released}, RSS ${Math.round(rssBeforeBytes / MB)} MB -> ` +
        `${Math.round(rssAfterBytes / MB)} MB in ${Math.round(result.durationMs)} ms`,
    );
    assert.ok(rssBeforeBytes > 100 * MB, `the target held only ${rssBeforeBytes} bytes`);
    assert.ok(rssAfterBytes <= rssBeforeBytes, `RSS ${rssBeforeBytes} -> ${rssAfterBytes}`);
    assert.equal(result.released, true);
    assert.ok(isAlive(pid));
    assert.ok(['S', 'R', 'D'].includes(stateOf(pid) ?? 'gone'), `state ${stateOf(pid)}`);
    assert.equal(tracerOf(pid), 0);
    assert.deepEqual(
      descendantsOf(process.pid).filter((p) => / lldb/.test(p)),
      [],
    );
  });

  it('does nothing without the explicit opt-in', async () => {
    const child = start('sleep', ['1000']);
    await waitForExec(pidOf(child), 'sleep');
    await assert.rejects(nativeTrim(pidOf(child), { intrusive: false }), { code: 'MW_USAGE' });
    assert.equal(tracerOf(pidOf(child)), 0);
  });

  it('refuses a process without glibc before attaching', async (t) => {
    const binary = staticProgram();
    if (typeof binary !== 'string') {
      t.skip(binary.skip);
      return;
    }
    const child = start(binary);
    await waitForExec(pidOf(child), 'pause-static');
    assert.equal(nativeProbes(pidOf(child)).trim.available, false);
    await assert.rejects(nativeTrim(pidOf(child), { intrusive: true }), {
      code: 'MW_UNSUPPORTED',
      message: /no glibc, jemalloc or tcmalloc mapped/,
    });
    assert.equal(tracerOf(pidOf(child)), 0);
    assert.ok(isAlive(pidOf(child)));
  });
});
