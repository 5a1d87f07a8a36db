import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isMemwardenError } from '../../src/errors.js';
import { findOnPath, runLldb } from '../../src/runtimes/debugger.js';
import { pythonGc, pythonInfo, pythonProbes, pythonSnapshot } from '../../src/runtimes/python/index.js';
import { remoteExecDisabled } from '../../src/runtimes/python/remote-exec.js';
import { runAsNobody } from '../helpers/nobody.js';
import { isAlive, pidOf, start, waitForExec, waitForLine, waitUntil } from '../helpers/processes.js';
import {
  AGENT_PYTHONPATH,
  descendantsOf,
  FIXTURES,
  heartbeatAdvances,
  interpreters,
  NO_LLDB,
  startFixture,
  stateOf,
  tracerOf,
} from './targets.js';

const CYCLES = 300_000;
const MB = 1024 * 1024;
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-py-test-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

function lldbChildren(): string[] {
  return descendantsOf(process.pid).filter((p) => / lldb/.test(p));
}

describe('pythonInfo', () => {
  for (const { exe, label } of interpreters()) {
    it(`recognises ${label} as CPython with its version`, async () => {
      const child = start(exe, [
        '-c',
        'import os, time; print("ready", os.getpid(), flush=True); time.sleep(60)',
      ]);
      await waitForLine(child, /^ready/);
      const info = pythonInfo(pidOf(child));
      assert.ok(info, 'not recognised');
      assert.equal(info.version, '3.11');
      assert.equal(info.via, 'exe');
      assert.match(info.exe, /python3\.11$/);
    });
  }

  it('does not take a sleep for Python', async () => {
    const child = start('sleep', ['1000']);
    await waitForExec(pidOf(child), 'sleep');
    assert.equal(pythonInfo(pidOf(child)), undefined);
  });
});

describe('pythonGc through lldb', { skip: NO_LLDB }, () => {
  for (const { exe, label } of interpreters()) {
    it(`frees reference cycles under gc.disable() in ${label}, which keeps running`, async () => {
      const target = await startFixture(exe, 'py_cycles.py', [String(CYCLES)]);
      const result = await pythonGc(target.pid, { timeoutMs: 30_000 });
      const { rssBeforeBytes = 0, rssAfterBytes = Number.POSITIVE_INFINITY } = result;
      console.log(
        `  ${label}: ${result.path} collected ${result.collected}, RSS ${Math.round(rssBeforeBytes / MB)} MB -> ` +
          `${Math.round(rssAfterBytes / MB)} MB in ${Math.round(result.durationMs)} ms`,
      );
      assert.equal(result.path, 'lldb');
      assert.ok(result.collected >= CYCLES, `collected ${result.collected}`);
      assert.ok(rssBeforeBytes > 200 * MB, `the target held only ${rssBeforeBytes} bytes`);
      assert.ok(rssAfterBytes <= rssBeforeBytes / 2, `RSS ${rssBeforeBytes} -> ${rssAfterBytes}`);
      assert.ok(!['T', 't'].includes(stateOf(target.pid) ?? 'gone'), `state ${stateOf(target.pid)}`);
      assert.equal(tracerOf(target.pid), 0);
      assert.ok(await heartbeatAdvances(target.heartbeat), 'the heartbeat stopped');
      assert.deepEqual(lldbChildren(), []);
    });
  }
});

describe('pythonSnapshot through lldb', { skip: NO_LLDB }, () => {
  it('shows a leaking class growing and the line that appends it', async () => {
    const target = await startFixture('python3', 'py_growing.py');
    const source = readFileSync(join(FIXTURES, 'py_growing.py'), 'utf8').split('\n');
    const leakingLine = source.findIndex((l) => l.includes('# the leaking line')) + 1;
    const first = await pythonSnapshot(target.pid, { timeoutMs: 30_000 });
    assert.equal(first.tracemallocStartedNow, true);
    // A beat after the first snapshot: the target has appended another batch since.
    assert.ok(await heartbeatAdvances(target.heartbeat), 'the target did not run on');
    const outFile = join(scratch, 'second.json');
    const second = await pythonSnapshot(target.pid, { timeoutMs: 30_000, outFile });
    assert.equal(second.tracemallocStartedNow, false);
    assert.deepEqual(JSON.parse(readFileSync(outFile, 'utf8')), second);

    const count = (s: typeof first) => s.types.find((t) => t.name === '__main__.LeakyRecord')?.count ?? 0;
    assert.ok(count(first) > 0, JSON.stringify(first.types.slice(0, 5)));
    assert.ok(count(second) > count(first), `LeakyRecord ${count(first)} -> ${count(second)}`);
    const site = second.tracemalloc.find((s) => s.file.endsWith('py_growing.py') && s.line === leakingLine);
    assert.ok(site, `line ${leakingLine} not among ${JSON.stringify(second.tracemalloc.slice(0, 5))}`);
    assert.ok(site.count > 0 && site.sizeBytes > 0);
    assert.equal(second.runtime, 'python');
    assert.equal(second.path, 'lldb');
    assert.ok(await heartbeatAdvances(target.heartbeat));
  });
});

describe('the memwarden_agent path', () => {
  for (const { exe, label } of interpreters()) {
    it(`collects through the agent socket in ${label}, preferred over lldb, and the target keeps running`, async () => {
      const env = { ...process.env, PYTHONPATH: AGENT_PYTHONPATH };
      const target = await startFixture(exe, 'py_cycles.py', [String(CYCLES)], env, [
        '-m',
        'memwarden_agent',
      ]);
      const probes = pythonProbes(target.pid);
      assert.equal(probes.preferred, 'agent', JSON.stringify(probes));
      const result = await pythonGc(target.pid, { timeoutMs: 30_000 });
      const { rssBeforeBytes = 0, rssAfterBytes = Number.POSITIVE_INFINITY } = result;
      console.log(
        `  agent in ${label}: collected ${result.collected}, RSS ${Math.round(rssBeforeBytes / MB)} MB -> ` +
          `${Math.round(rssAfterBytes / MB)} MB in ${Math.round(result.durationMs)} ms`,
      );
      assert.equal(result.path, 'agent');
      assert.ok(result.collected >= CYCLES);
      assert.ok(rssAfterBytes <= rssBeforeBytes / 2, `RSS ${rssBeforeBytes} -> ${rssAfterBytes}`);
      assert.equal(tracerOf(target.pid), 0);
      const snapshot = await pythonSnapshot(target.pid, { timeoutMs: 10_000, top: 10 });
      assert.equal(snapshot.path, 'agent');
      assert.equal(snapshot.types.length, 10);
      assert.ok(await heartbeatAdvances(target.heartbeat));
    });
  }

  it('starts from one import line and serves only its own user', async () => {
    const code =
      'import os, time, memwarden_agent; path = memwarden_agent.start(); ' +
      'print("ready", path, oct(os.stat(path).st_mode & 0o777), ' +
      'oct(os.stat(os.path.dirname(path)).st_mode & 0o777), flush=True); time.sleep(60)';
    const child = start('python3', ['-c', code], {
      env: { ...process.env, PYTHONPATH: AGENT_PYTHONPATH },
    });
    const line = await waitForLine(child, /^ready .*agent-\d+\.sock 0o\d+ 0o\d+$/);
    assert.match(line, new RegExp(`agent-${pidOf(child)}\\.sock 0o600 0o700$`));
    const probes = pythonProbes(pidOf(child));
    assert.equal(probes.paths.find((p) => p.path === 'agent')?.socket, line.split(' ')[1]);
  });
});

describe('an agent socket planted by someone else', () => {
  it('is never spoken to: the target does not hold it', async () => {
    const target = await startFixture('python3', 'py_growing.py');
    const uid = process.getuid?.() ?? 0;
    const dir = `/tmp/memwarden-${uid}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `agent-${target.pid}.sock`);
    let contacted = false;
    const impostor = createServer(() => {
      contacted = true;
    });
    await new Promise<void>((resolve) => impostor.listen(path, resolve));
    try {
      const agent = pythonProbes(target.pid).paths.find((p) => p.path === 'agent');
      assert.equal(agent?.available, false);
      assert.match(agent?.reason ?? '', new RegExp(`not held by pid ${target.pid}`));
      await assert.rejects(pythonGc(target.pid, { paths: ['agent'] }), { code: 'MW_UNSUPPORTED' });
      assert.equal(contacted, false);
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  });
});

describe('refusals before attaching', () => {
  it('refuses a sleep: not Python, never attached, still running', async () => {
    const child = start('sleep', ['1000']);
    await waitForExec(pidOf(child), 'sleep');
    await assert.rejects(pythonGc(pidOf(child)), (err) => {
      assert.ok(isMemwardenError(err));
      assert.equal(err.code, 'MW_UNSUPPORTED');
      assert.match(err.message, /not Python \(it runs .*sleep\)/);
      return true;
    });
    assert.equal(tracerOf(pidOf(child)), 0);
    assert.ok(isAlive(pidOf(child)));
    assert.equal(pythonProbes(pidOf(child)).paths.length, 0);
  });

  it("refuses a python3 that exec'd into /bin/sleep: same pid and start time, no longer Python", async () => {
    const child = start('python3', [
      '-c',
      'import os; print("ready", flush=True); os.execv("/bin/sleep", ["sleep", "1000"])',
    ]);
    await waitForLine(child, /ready/);
    await waitForExec(pidOf(child), 'sleep\u00001000');
    await assert.rejects(pythonGc(pidOf(child)), { code: 'MW_UNSUPPORTED' });
    assert.ok(isAlive(pidOf(child)));
  });

  it('refuses a zombie, pid 1, itself, and a reused pid', async () => {
    await assert.rejects(pythonGc(1), { code: 'MW_PROTECTED' });
    await assert.rejects(pythonGc(process.pid), { code: 'MW_PROTECTED' });
    const parent = start('python3', [join(FIXTURES, 'zombie.py')]);
    const zombie = Number(await waitForLine(parent, /^\d+$/));
    while (stateOf(zombie) !== 'Z') await new Promise((r) => setTimeout(r, 10));
    await assert.rejects(pythonGc(zombie), { code: 'MW_PROTECTED', message: /zombie/ });
    const live = await startFixture('python3', 'py_growing.py');
    await assert.rejects(pythonGc(live.pid, { expect: { pid: live.pid, startTicks: 1 } }), {
      code: 'MW_PID_REUSED',
      message: /reused/,
    });
  });
});

describe('lldb faults', { skip: NO_LLDB }, () => {
  it('reports a missing lldb as "lldb not found" and leaves the target alone (scenario 20)', async () => {
    const target = await startFixture('python3', 'py_growing.py');
    await assert.rejects(pythonGc(target.pid, { lldbPath: '/nonexistent/lldb', paths: ['lldb'] }), {
      code: 'MW_UNSUPPORTED',
      message: 'lldb not found (apt-get install lldb)',
    });
    assert.ok(await heartbeatAdvances(target.heartbeat));
  });

  it('reports a "Python" without its symbols, detaches and leaves it as it was', async () => {
    const fake = join(scratch, 'python3.11');
    copyFileSync('/bin/sleep', fake);
    const child = start(fake, ['1000'], { env: { PATH: process.env.PATH } });
    await waitForExec(pidOf(child), '1000');
    assert.equal(pythonInfo(pidOf(child))?.version, '3.11');
    // Just after exec the loader still runs (R); the sleep itself is what must be left as it was.
    await waitUntil('the fake python to sleep', () => stateOf(pidOf(child)) === 'S');
    await assert.rejects(pythonGc(pidOf(child), { timeoutMs: 20_000 }), (err) => {
      assert.ok(isMemwardenError(err));
      assert.equal(err.code, 'MW_UNSUPPORTED');
      assert.match(err.message, /no symbol 'Py_IsInitialized'/);
      return true;
    });
    // A detached sleep may run for an instant as it restarts its nanosleep; it must sleep again.
    await waitUntil('the fake python to sleep again', () => stateOf(pidOf(child)) === 'S');
    assert.equal(tracerOf(pidOf(child)), 0);
    assert.deepEqual(lldbChildren(), []);
  });

  it('fails cleanly when the target dies during the injection, and reaps lldb (scenario 21)', async () => {
    const target = await startFixture('python3', 'py_cycles.py', ['1000']);
    const gc = pythonGc(target.pid, { timeoutMs: 20_000 });
    // Kill the target 100 ms after lldb has attached to it.
    const deadline = Date.now() + 15_000;
    while (tracerOf(target.pid) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    process.kill(target.pid, 'SIGKILL');
    await assert.rejects(gc, (err) => {
      assert.ok(isMemwardenError(err), String(err));
      assert.ok(['MW_NO_PROCESS', 'MW_FAILED'].includes(err.code), `${err.code}: ${err.message}`);
      return true;
    });
    assert.deepEqual(lldbChildren(), []);
  });

  it('times out on a target whose GIL is held by a long C call, and leaves it running (scenario 22)', async () => {
    const child = start('python3', [join(FIXTURES, 'py_gil_hog.py')]);
    await waitForLine(child, /^ready/);
    const pid = pidOf(child);
    await assert.rejects(pythonGc(pid, { timeoutMs: 12_000 }), (err) => {
      assert.ok(isMemwardenError(err));
      assert.equal(err.code, 'MW_TIMEOUT', err.message);
      assert.match(err.message, /target state uncertain/);
      return true;
    });
    assert.ok(isAlive(pid));
    assert.ok(!['T', 't', 'Z'].includes(stateOf(pid) ?? 'gone'), `state ${stateOf(pid)}`);
    assert.equal(tracerOf(pid), 0);
    assert.deepEqual(lldbChildren(), []);
  });

  it('continues a target left stopped when our timeout kills lldb (scenario 21)', async () => {
    const target = await startFixture('python3', 'py_growing.py');
    // lldb attaches, then blocks in a host shell command while the target sits in a tracing stop;
    // the timeout falls inside that command even when a loaded machine makes the attach slow.
    const run = runLldb(target.pid, ['platform shell sleep 12'], { timeoutMs: 5000 });
    const deadline = Date.now() + 10_000;
    while (stateOf(target.pid) !== 't' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(stateOf(target.pid), 't');
    // A stop that arrives while traced stays pending as a group stop once the tracer is gone.
    process.kill(target.pid, 'SIGSTOP');
    const result = await run;
    assert.equal(result.timedOut, true);
    assert.equal(result.continued, true);
    // Running, sleeping, or briefly in disk wait while it writes its heartbeat: anything but stopped.
    assert.ok(['S', 'R', 'D'].includes(result.targetState ?? 'gone'), `state ${result.targetState}`);
    assert.ok(await heartbeatAdvances(target.heartbeat), 'the target did not resume');
    assert.equal(tracerOf(target.pid), 0);
  });
  it('never kills lldb while a call runs inside the target: the call ends, and the target lives on', async (t) => {
    const target = await startFixture('python3', 'py_growing.py');
    // The 5 s timeout falls inside a 4.5 s call once the attach takes half a second: killing lldb
    // then would leave the call to return into lldb's trap address, and the target would die of
    // SIGTRAP. The call's own lldb timeout is within the budget, as lldbExpression makes it.
    const call =
      'expression --timeout 4800000 --unwind-on-error true --ignore-breakpoints true -- (int)usleep(4500000)';
    const run = await runLldb(target.pid, [call, 'process detach'], { timeoutMs: 5000 });
    if (run.timedOut && !run.output.includes('(lldb) expression')) {
      return t.skip('the attach outlasted the timeout, so no call was running when it fired');
    }
    if (run.durationMs < 5000)
      return t.skip('lldb was done before the timeout: nothing fell inside the call');
    assert.equal(run.timedOut, false, run.output);
    assert.match(run.output, /^\(int\) \$0 = 0$/m);
    assert.ok(await heartbeatAdvances(target.heartbeat), 'the target did not live on');
    assert.equal(tracerOf(target.pid), 0);
  });
});

describe('ptrace denied', {
  skip: process.getuid?.() === 0 ? false : 'needs root to act as another user',
}, () => {
  const DIST = new URL('../../dist/runtimes/', import.meta.url).pathname;

  const asNobody = (script: string) => runAsNobody<{ code: string; message: string }>(script);

  it("refuses another user's process before attaching", async () => {
    const target = await startFixture('python3', 'py_growing.py');
    const error = asNobody(`
      const { pythonGc } = await import(${JSON.stringify(`${DIST}python/index.js`)});
      try { await pythonGc(${target.pid}); console.log('{}'); }
      catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message })); }`);
    assert.equal(error.code, 'MW_PERMISSION');
    assert.match(error.message, /hidden from uid 65534 \(the process belongs to uid 0\)/);
    assert.equal(tracerOf(target.pid), 0);
    const verdict = asNobody(`
      const { ptracePreflight } = await import(${JSON.stringify(`${DIST}debugger.js`)});
      const { allowed, reason } = ptracePreflight(0);
      console.log(JSON.stringify({ code: String(allowed), message: reason }));`);
    assert.equal(verdict.code, 'false');
    assert.match(verdict.message, /belongs to uid 0; memwarden runs as uid 65534 without CAP_SYS_PTRACE/);
  });

  it('turns an attach refused by the kernel into an error naming ptrace_scope', {
    skip: NO_LLDB,
  }, async () => {
    const target = await startFixture('python3', 'py_growing.py');
    const error = asNobody(`
      const { runLldb, lldbFailure } = await import(${JSON.stringify(`${DIST}debugger.js`)});
      const run = await runLldb(${target.pid}, ['expression -- (int)1'], { timeoutMs: 20000 });
      const err = lldbFailure(run, ${target.pid}, 'a probe');
      console.log(JSON.stringify({ code: err?.code, message: err?.message }));`);
    assert.equal(error.code, 'MW_PERMISSION');
    assert.match(error.message, /ptrace_scope/);
    assert.ok(await heartbeatAdvances(target.heartbeat));
  });
});

describe('sys.remote_exec (Python 3.14+)', () => {
  const python314 = findOnPath(['python3.14']);
  it('collects through sys.remote_exec', {
    skip: python314 ? false : 'python3.14 is not installed here',
  }, async () => {
    const target = await startFixture(python314 as string, 'py_cycles.py', [String(CYCLES)]);
    const result = await pythonGc(target.pid, { timeoutMs: 30_000 });
    assert.equal(result.path, 'remote_exec');
    assert.ok((result.rssAfterBytes ?? 0) <= (result.rssBeforeBytes ?? 0) / 2);
    assert.ok(await heartbeatAdvances(target.heartbeat));
  });

  it('sees a target that disabled remote debugging', async () => {
    const child = start('sleep', ['1000'], { env: { ...process.env, PYTHON_DISABLE_REMOTE_DEBUG: '1' } });
    await waitForExec(pidOf(child), 'sleep');
    assert.match(remoteExecDisabled(pidOf(child), ['python3']) ?? '', /disabled by target/);
    assert.match(remoteExecDisabled(process.pid, ['python3', '-X', 'disable_remote_debug']) ?? '', /-X/);
    assert.equal(remoteExecDisabled(process.pid, ['python3', 'app.py']), undefined);
  });
});
