import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemwardenError } from '../../src/errors.js';
import { ProcReader } from '../../src/proc/index.js';
import { assertSameProcess, detectRuntime } from '../../src/runtimes/index.js';
import { pidOf, start, waitForExec, waitForLine } from '../helpers/processes.js';
import { fakeNode } from './targets.js';

describe('detectRuntime', () => {
  it('tells Node by its executable, with the version when it is our own binary', async () => {
    const child = start(process.execPath, ['-e', 'console.log("ready"); setInterval(() => {}, 1000)']);
    await waitForLine(child, /ready/);
    const info = detectRuntime(pidOf(child));
    assert.equal(info?.runtime, 'node');
    assert.equal(info?.version, process.versions.node);
    assert.equal(info?.protectedReason, undefined);
  });

  it('tells Node by its exported symbols when the file is renamed', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'memwarden-detect-'));
    t.after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));
    const exe = join(dir, 'my-server');
    copyFileSync(process.execPath, exe);
    chmodSync(exe, 0o755);
    const child = start(exe, ['-e', 'console.log("ready"); setInterval(() => {}, 1000)']);
    await waitForLine(child, /ready/);
    const info = detectRuntime(pidOf(child));
    assert.equal(info?.runtime, 'node');
    assert.match(info?.detectedBy ?? '', /symbols/);
  });

  it('tells Python and its version from the executable', async () => {
    const child = start('python3', ['-c', 'import time; print("ready", flush=True); time.sleep(60)']);
    await waitForLine(child, /ready/);
    const info = detectRuntime(pidOf(child));
    assert.equal(info?.runtime, 'python');
    assert.match(info?.version ?? '', /^3\.\d+$/);
  });

  it('calls a copy of sleep named node native: the file name is not evidence', async () => {
    const fake = fakeNode();
    const child = start(fake, ['60']);
    await waitForExec(pidOf(child), fake);
    const info = detectRuntime(pidOf(child));
    assert.equal(info?.exe, fake);
    assert.equal(info?.runtime, 'native');
    assert.equal(info?.detectedBy, 'neither Node nor Python');
  });

  it('calls anything else native, whatever it names itself', async () => {
    const child = start('bash', ['-c', 'exec -a node sleep 60']);
    await waitForExec(pidOf(child), 'node');
    const info = detectRuntime(pidOf(child));
    assert.equal(info?.runtime, 'native');
  });

  it('marks pid 1, memwarden itself, its parent and kernel threads as protected', () => {
    assert.match(detectRuntime(1)?.protectedReason ?? '', /pid 1/);
    assert.equal(detectRuntime(process.pid)?.protectedReason, 'memwarden itself');
    assert.equal(detectRuntime(process.ppid)?.protectedReason, "memwarden's parent");
    const kthread = new ProcReader().sweep().find((r) => r.kernelThread);
    if (kthread) assert.equal(detectRuntime(kthread.pid)?.protectedReason, 'kernel thread');
  });

  it("refuses a pid that exec'd into another program since detection (scenario 9)", async () => {
    const child = start('python3', [
      '-c',
      'import os, time; print("ready", flush=True); time.sleep(0.5); os.execv("/bin/sleep", ["sleep", "60"])',
    ]);
    await waitForLine(child, /ready/);
    const reader = new ProcReader();
    const info = detectRuntime(pidOf(child), { reader });
    assert.equal(info?.runtime, 'python');
    // The python command line itself holds "sleep": wait for the executable instead.
    for (let i = 0; i < 300 && !readlinkSync(`/proc/${pidOf(child)}/exe`).endsWith('/sleep'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(reader.identity(pidOf(child))?.startTicks, info?.startTicks, 'same pid and start time');
    assert.throws(
      () => assertSameProcess(info ?? { pid: 0, startTicks: 0 }, reader),
      (err: unknown) =>
        err instanceof MemwardenError && err.code === 'MW_NO_PROCESS' && /execve/.test(err.message),
    );
    assert.equal(detectRuntime(pidOf(child))?.runtime, 'native');
  });
});
