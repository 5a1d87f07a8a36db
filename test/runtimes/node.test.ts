import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { MemwardenError } from '../../src/errors.js';
import { listenersOf, ProcReader, readTcpListeners } from '../../src/proc/index.js';
import { collectGarbage, describeProbes, detectRuntime, takeSnapshot } from '../../src/runtimes/index.js';
import { runCli } from '../helpers/cli.js';
import { NOBODY } from '../helpers/nobody.js';
import { isAlive, pidOf, start, waitForExit, waitForLine } from '../helpers/processes.js';
import { fakeNode } from './targets.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const GARBAGE = join(FIXTURES, 'node-garbage.js');
const scratch = mkdtempSync(join(tmpdir(), 'memwarden-node-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));

const IDLE = 'console.log("ready"); setInterval(() => {}, 1000);';

/** `--disable-sigusr1` came with Node 22.14 and 23.7: its tests run wherever it exists. */
const [NODE_MAJOR = 0, NODE_MINOR = 0] = process.versions.node.split('.').map(Number);
const HAS_DISABLE_SIGUSR1 =
  NODE_MAJOR > 23 || (NODE_MAJOR === 23 && NODE_MINOR >= 7) || (NODE_MAJOR === 22 && NODE_MINOR >= 14);

/** Everything a child wrote on stderr so far: Node announces each inspector event there. */
function stderrOf(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return () => text;
}

/**
 * Starts a Node target, niced so that its allocations and spinning do not starve test files
 * running beside this one, and killed when the test ends.
 */
async function startNode(
  t: TestContext,
  args: string[],
): Promise<{ child: ChildProcess; pid: number; stderr: () => string }> {
  const child = start('nice', ['-n', '19', process.execPath, ...args]);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-pidOf(child), 'SIGKILL');
  });
  const stderr = stderrOf(child);
  await waitForLine(child, /ready/);
  return { child, pid: pidOf(child), stderr };
}

function listensAt(pid: number, port?: number): boolean {
  const listeners = listenersOf(pid);
  return Array.isArray(listeners) && listeners.some((l) => port === undefined || l.port === port);
}

function rssOf(pid: number): number {
  return new ProcReader().read(pid)?.rss ?? 0;
}

/** Whether 9229 is still held after a short wait (a target killed by the previous test may be exiting). */
async function holder9229(): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (!readTcpListeners().some((l) => l.port === 9229)) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

async function rejectsWith(
  promise: Promise<unknown>,
  code: string | string[],
  message?: RegExp,
): Promise<MemwardenError> {
  const codes = Array.isArray(code) ? code : [code];
  try {
    await promise;
  } catch (err) {
    assert.ok(
      err instanceof MemwardenError,
      `not a MemwardenError: ${err instanceof Error ? err.stack : err}`,
    );
    assert.ok(codes.includes(err.code), `${err.code}: ${err.message}`);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail('expected a rejection');
}

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * Waits until no more fds are open than `fds` and the resources are back to `resources`: a
 * destroyed socket's fd closes a turn or two of the event loop later, a leaked one never does.
 * Fewer fds than before is no leak: an earlier test's child may close its pipes meanwhile.
 */
/** How many handles and timers of each kind this test process holds. */
function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo())
    if (kind !== 'FSReqCallback') counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** The kinds there are more of now than `before`, as "kind before→now"; empty when none. */
function grownResources(before: Map<string, number>): string {
  return [...activeResources()]
    .filter(([kind, n]) => n > (before.get(kind) ?? 0))
    .map(([kind, n]) => `${kind} ${before.get(kind) ?? 0}→${n}`)
    .join(', ');
}

/**
 * Asserts that nothing of ours outlives a probe. A destroyed socket's handle closes a turn or two
 * of the event loop later, a leaked one never does; the pipes of an earlier test's child may
 * close meanwhile, so counts may fall, never rise.
 */
async function assertNothingLeaked(fds: number, resources: Map<string, number>): Promise<void> {
  for (let i = 0; i < 100 && (fdCount() > fds || grownResources(resources) !== ''); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(fdCount() <= fds, `an fd was leaked: ${fdCount()} open, ${fds} before`);
  assert.equal(grownResources(resources), '', 'a handle or timer was leaked');
}

// Port 9229 is shared by the whole machine: the tests that use it run one at a time and skip
// when something else already holds it.
describe('Node targets on the default inspector port', { concurrency: 1 }, () => {
  it('collects 200 MB of garbage through the inspector and closes the port again', async (t) => {
    if (await holder9229()) return t.skip('port 9229 is held by another process');
    // Node 24 and 26 may collect an idle heap on its own: the objects are dropped only when
    // asked, after a collection that ends any marking in flight, with the memory reducer off.
    const { pid, child } = await startNode(t, [
      '--max-old-space-size=4096',
      '--no-memory-reducer',
      '--expose-gc',
      GARBAGE,
      '200',
      'until-usr2',
    ]);
    process.kill(pid, 'SIGUSR2');
    await waitForLine(child, /^dropped$/);
    const rssBefore = rssOf(pid);
    assert.ok(rssBefore > 200e6, `target RSS only ${rssBefore}`);
    const { code, stdout, stderr } = await runCli(['gc', String(pid), '--json']);
    assert.equal(code, 0, stderr);
    const [result] = JSON.parse(stdout) as Record<string, number | string | boolean>[];
    assert.ok(result?.ok, stdout);
    const heapBefore = Number(result.heapUsedBefore);
    const heapAfter = Number(result.heapUsedAfter);
    const rssAfter = Number(result.rssAfter);
    assert.ok(
      heapAfter <= heapBefore / 2 || rssAfter <= Number(result.rssBefore) / 2,
      `heap ${heapBefore} → ${heapAfter}, RSS ${result.rssBefore} → ${rssAfter}`,
    );
    assert.ok(heapBefore > 150e6, `the garbage was collected before memwarden came: ${heapBefore}`);
    assert.equal(listensAt(pid), false, 'the inspector still listens');
    assert.ok(isAlive(pid));
  });

  it('refuses a target whose port 9229 another Node holds, and leaves that one untouched (scenarios 17, 40b)', async (t) => {
    if (await holder9229()) return t.skip('port 9229 is held by another process');
    const a = await startNode(t, [
      '--max-old-space-size=4096',
      '--no-memory-reducer',
      '--inspect=127.0.0.1:9229',
      GARBAGE,
      '200',
    ]);
    const b = await startNode(t, ['-e', IDLE]);
    assert.ok(listensAt(a.pid, 9229));
    const aRss = rssOf(a.pid);
    const err = await rejectsWith(
      collectGarbage(b.pid, { timeoutMs: 5000 }),
      'MW_FAILED',
      new RegExp(`inspector port 9229 is owned by pid ${a.pid}; pid ${b.pid} could not open its inspector`),
    );
    assert.ok(err);
    assert.doesNotMatch(a.stderr(), /Debugger attached/, 'a session was opened on A');
    assert.ok(rssOf(a.pid) > aRss * 0.8, `A's memory fell from ${aRss} to ${rssOf(a.pid)}: it was collected`);
    assert.equal(listensAt(b.pid), false);
    assert.ok(isAlive(a.pid) && isAlive(b.pid));
  });

  it('takes a heap snapshot that parses with its snapshot.meta header', async (t) => {
    if (await holder9229()) return t.skip('port 9229 is held by another process');
    const { pid } = await startNode(t, ['-e', IDLE]);
    const file = join(scratch, 'small.heapsnapshot');
    const { code, stderr } = await runCli(['snapshot', String(pid), '-o', file]);
    assert.equal(code, 0, stderr);
    // stderr is a pipe here, not a terminal: no progress unless asked for.
    assert.equal(stderr, '');
    const asked = await runCli(['snapshot', String(pid), '-o', file, '--progress', '--json']);
    assert.equal(asked.code, 0, asked.stderr);
    assert.match(asked.stderr, /snapshot: 100%\n$/);
    const snapshot = JSON.parse(readFileSync(file, 'utf8')) as {
      snapshot?: { meta?: { node_fields?: unknown } };
    };
    assert.ok(Array.isArray(snapshot.snapshot?.meta?.node_fields));
    assert.deepEqual(
      readdirSync(scratch).filter((f) => f.endsWith('.tmp')),
      [],
      'a temporary file was left behind',
    );
    assert.equal(listensAt(pid), false);
  });
});

describe('targets that are not Node', () => {
  it('refuses a sleep before any signal, and the sleep lives on (scenario 18a)', async () => {
    const child = start('sleep', ['60']);
    const pid = pidOf(child);
    for (let i = 0; i < 100 && detectRuntime(pid)?.exe?.endsWith('/sleep') !== true; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const { code, stderr } = await runCli(['gc', String(pid)]);
    assert.equal(code, 1);
    assert.match(stderr, /native process; 'gc' does not apply to it/);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(isAlive(pid), 'the sleep died: it was signalled');
  });

  it('refuses a copy of sleep named node before any signal, and it lives on (issue 10, point 3)', async () => {
    const fake = fakeNode();
    const child = start(fake, ['60']);
    const pid = pidOf(child);
    for (let i = 0; i < 100 && detectRuntime(pid)?.exe !== fake; i++)
      await new Promise((r) => setTimeout(r, 10));
    const { code, stderr } = await runCli(['gc', String(pid)]);
    assert.equal(code, 1);
    assert.match(
      stderr,
      new RegExp(`pid ${pid} \\(node\\) is a native process; 'gc' does not apply to it, nothing was sent`),
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(isAlive(pid), 'the fake node died: it was signalled');
    assert.equal(child.signalCode, null);
  });

  it('refuses gc on a native process before sending anything, and it lives on', async () => {
    const child = start('sleep', ['60']);
    const pid = pidOf(child);
    for (let i = 0; i < 100 && detectRuntime(pid)?.exe?.endsWith('/sleep') !== true; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await rejectsWith(collectGarbage(pid), 'MW_UNSUPPORTED', /native process; 'gc' does not apply to it/);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(isAlive(pid));
  });

  it('collects in a Python process found by pattern, and it lives on', async () => {
    const child = start('python3', [
      '-c',
      'import time; print("ready", flush=True); time.sleep(60)',
      'mw-py-target',
    ]);
    await waitForLine(child, /ready/);
    const { code, stdout, stderr } = await runCli(['gc', 'mw-py-target', '--json', '--timeout', '60s'], {
      timeoutMs: 90_000,
    });
    assert.equal(code, 0, stderr);
    const [result] = JSON.parse(stdout) as { ok: boolean; runtime: string; pid: number }[];
    assert.equal(result?.ok, true);
    assert.equal(result?.runtime, 'python');
    assert.equal(result?.pid, pidOf(child));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(isAlive(pidOf(child)));
  });
});

describe('protected targets', () => {
  it('never probes pid 1, memwarden itself or its parent (scenario 16)', async () => {
    await rejectsWith(collectGarbage(1), 'MW_PROTECTED', /never probed: pid 1/);
    await rejectsWith(collectGarbage(process.pid), 'MW_PROTECTED', /memwarden itself/);
    await rejectsWith(collectGarbage(process.ppid), 'MW_PROTECTED', /memwarden's parent/);
  });

  it('refuses a stopped Node process instead of waiting on it', async (t) => {
    const { pid, stderr } = await startNode(t, ['--inspect-port=9346', '-e', IDLE]);
    process.kill(pid, 'SIGSTOP');
    try {
      for (let i = 0; i < 100 && detectRuntime(pid)?.state !== 'T'; i++)
        await new Promise((r) => setTimeout(r, 10));
      await rejectsWith(collectGarbage(pid), 'MW_PROTECTED', /stopped/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.doesNotMatch(stderr(), /Debugger listening/, 'it was signalled');
  });
});

describe('Node targets on their own ports', () => {
  // Each form was seen to make Node 20 listen on every interface after SIGUSR1 (issue 10).
  const EXPOSING: { args: string[]; env?: string; host: string }[] = [
    { args: ['--inspect-port=0.0.0.0'], host: '0.0.0.0' },
    { args: ['--inspect-port', '0.0.0.0:9347'], host: '0.0.0.0' },
    { args: ['--inspect_port=[::]:9347'], host: '::' },
    { args: ['--debug-port=0.0.0.0:9347'], host: '0.0.0.0' },
    { args: [], env: '"--inspect-port=0.0.0.0:9347"', host: '0.0.0.0' },
    { args: ['--inspect-port=9347'], env: '--inspect-port=0.0.0.0', host: '0.0.0.0' },
  ];
  for (const form of EXPOSING) {
    const label = `${form.env ? `NODE_OPTIONS=${form.env} ` : ''}${form.args.join(' ') || '-e'}`;
    it(`never opens an inspector beyond loopback: ${label} (scenario 40a)`, async (t) => {
      const env = { ...process.env, ...(form.env ? { NODE_OPTIONS: form.env } : {}) };
      // After -e, where Node still reads its own options and a shallow parser stops.
      const child = start('nice', ['-n', '19', process.execPath, '-e', IDLE, ...form.args], { env });
      t.after(() => child.kill('SIGKILL'));
      const stderr = stderrOf(child);
      await waitForLine(child, /ready/);
      const pid = pidOf(child);
      const reader = new ProcReader();
      const gc = describeProbes(pid, reader).probes.find((p) => p.probe === 'gc');
      reader.close();
      assert.equal(gc?.possible, false);
      assert.match(gc?.reason ?? '', /which is not loopback/);
      await rejectsWith(
        collectGarbage(pid),
        'MW_UNSUPPORTED',
        new RegExp(
          `inspector host ${form.host.replace(/[.]/g, '\\.')}, which is not loopback; .*nothing was sent`,
        ),
      );
      // A process that is signalled opens its inspector within milliseconds; give it ample time.
      await new Promise((r) => setTimeout(r, 300));
      assert.doesNotMatch(stderr(), /Debugger listening/);
      assert.equal(listensAt(pid), false, 'a listening socket appeared');
      assert.ok(isAlive(pid));
    });
  }

  it('closes at once an inspector that came up beyond loopback though its flags say loopback', async (t) => {
    // inspector.open() with a host changes the host SIGUSR1 uses later; argv does not show it.
    const { pid, stderr } = await startNode(t, [
      '--inspect-port=9348',
      '-e',
      `const i = require("inspector"); i.open(9348, "0.0.0.0"); i.close(); ${IDLE}`,
    ]);
    await rejectsWith(
      collectGarbage(pid, { timeoutMs: 5000 }),
      'MW_UNSUPPORTED',
      /opened its inspector on 0\.0\.0\.0:9348 although its flags name loopback/,
    );
    assert.doesNotMatch(stderr().split('Debugger ending').at(-1) ?? '', /Debugger listening/);
    assert.equal(listensAt(pid), false, 'the inspector on 0.0.0.0 was left open');
    assert.ok(isAlive(pid));
  });

  it('sees another local user who reaches the inspector window, and says so (scenario 40a)', async (t) => {
    const { pid } = await startNode(t, ['--inspect-port=9352', '-e', IDLE]);
    // nobody polls /json/list as fast as it can and evaluates code the moment it may.
    const intruder = start(process.execPath, [join(FIXTURES, 'inspector-intruder.cjs')], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: '/',
      env: { ...process.env, INTRUDER_PORT: '9352', INTRUDER_ROUNDS: '1000' },
    });
    let ran = 0;
    intruder.stdout?.on('data', (c: Buffer) => {
      ran += (c.toString().match(/ran uid=0/g) ?? []).length;
    });
    await waitForLine(intruder, /polling/);
    // Whether the intruder reaches a given window is a race; it is run until one is seen.
    const reports: string[] = [];
    for (let round = 0; round < 20 && !reports.some((r) => /other connection/.test(r)); round++) {
      const result = await collectGarbage(pid, { timeoutMs: 5000, trim: false });
      const foreign = result.details?.foreignConnections;
      assert.equal(/other connection/.test(result.via), Array.isArray(foreign) && foreign.length > 0);
      reports.push(result.via);
      assert.equal(listensAt(pid), false, 'the inspector was left open');
    }
    const seen = reports.find((r) => /other connection/.test(r));
    assert.match(
      seen ?? `the intruder ran code ${ran} times; ${reports.join('\n')}`,
      /other connections? reached it \((uid 65534|closed)/,
    );
    t.diagnostic(`${reports.length} rounds; the intruder ran code as root ${ran} times; ${seen}`);
  });

  it("sends nothing to a fake inspector that holds the target's port (scenario 40b)", async (t) => {
    const fake = start('python3', [
      '-c',
      [
        'import socket, sys',
        's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
        's.bind(("127.0.0.1", 9343)); s.listen(8); print("ready", flush=True)',
        'while True:',
        '    c, _ = s.accept(); print("connected", flush=True); c.close()',
      ].join('\n'),
    ]);
    let connections = 0;
    fake.stdout?.on('data', (c: Buffer) => {
      connections += (c.toString().match(/connected/g) ?? []).length;
    });
    await waitForLine(fake, /ready/);
    const { pid } = await startNode(t, ['--inspect-port=9343', '-e', IDLE]);
    await rejectsWith(
      collectGarbage(pid, { timeoutMs: 5000 }),
      'MW_FAILED',
      new RegExp(
        `inspector port 9343 is owned by pid ${pidOf(fake)}; pid ${pid} could not open its inspector`,
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(connections, 0, 'memwarden connected to the fake inspector');
    assert.ok(isAlive(pid));
  });

  it('leaves no file, whole or partial, when a snapshot runs out of time', async (t) => {
    const { pid } = await startNode(t, ['--inspect-port=9344', GARBAGE, '60', 'keep']);
    const file = join(scratch, 'late.heapsnapshot');
    await rejectsWith(takeSnapshot(pid, file, { timeoutMs: 700 }), 'MW_TIMEOUT');
    assert.equal(existsSync(file), false);
    assert.deepEqual(
      readdirSync(scratch).filter((f) => f.startsWith('.late')),
      [],
      'a temporary file was left behind',
    );
  });

  it('leaves the target alive and closed after many rounds in a row', async (t) => {
    // Closing the inspector while a session was still attached crashed Node 20 with SIGSEGV
    // about one round in ten.
    const { pid, child } = await startNode(t, ['--inspect-port=9339', '-e', IDLE]);
    for (let i = 0; i < 12; i++) {
      const result = await collectGarbage(pid, { timeoutMs: 5000, trim: false }).catch(async (err) => {
        // A target that died under a round is what this test is for: say how it died.
        if (!['MW_PROTECTED', 'MW_NO_PROCESS'].includes(err?.code)) throw err;
        if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
        throw new Error(`round ${i}: the target exited (${child.exitCode ?? child.signalCode}): ${err}`);
      });
      assert.equal(result.details?.inspectorClosed, true, `round ${i}`);
      assert.deepEqual(result.details?.foreignConnections, [], `round ${i}: ${result.via}`);
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(child.signalCode, null, `the target died of ${child.signalCode}`);
    assert.ok(isAlive(pid));
    assert.equal(listensAt(pid), false);
  });

  it('uses an inspector that was already open and leaves it open', async (t) => {
    const { pid, stderr } = await startNode(t, ['--inspect=127.0.0.1:9333', '-e', IDLE]);
    const result = await collectGarbage(pid, { timeoutMs: 5000, trim: false });
    assert.equal(result.details?.activated, false);
    assert.ok(listensAt(pid, 9333), 'the inspector the target opened itself was closed');
    assert.match(stderr(), /Debugger attached/);
  });

  it('collects in an ES module target, closes its inspector and leaks nothing of ours', async (t) => {
    const { pid } = await startNode(t, ['--inspect-port=9334', '--input-type=module', '-e', IDLE]);
    const fds = fdCount();
    const resources = activeResources();
    const result = await collectGarbage(pid, { timeoutMs: 5000, trim: false });
    await assertNothingLeaked(fds, resources);
    assert.equal(result.details?.port, 9334);
    assert.equal(result.details?.inspectorClosed, true);
    assert.equal(listensAt(pid), false);
  });

  it('closes the inspector of a target that spins in while(true) for ever (scenario 19, issue 10 point 9)', async (t) => {
    const { pid } = await startNode(t, [
      '--inspect-port=9331',
      '-e',
      'console.log("ready"); setTimeout(() => { for (;;) {} }, 0)',
    ]);
    // Evaluation reaches a spinning isolate through interrupts, but the collection waits for
    // the event loop, which never turns again: the probe times out.
    const err = await rejectsWith(collectGarbage(pid, { timeoutMs: 2000 }), 'MW_TIMEOUT');
    assert.doesNotMatch(err.message, /may still be open/);
    assert.equal(listensAt(pid), false, 'the inspector of the spinning target was left open');
    assert.equal(new ProcReader().read(pid)?.state, 'R', 'the target no longer spins');
  });

  it('says the inspector may still be open when the target cannot close it', async (t) => {
    const { pid } = await startNode(t, ['--inspect-port=9349', GARBAGE, '20', 'keep']);
    t.after(() => {
      if (isAlive(pid)) process.kill(pid, 'SIGCONT');
    });
    // Stopped in the middle of the snapshot, the target runs neither the snapshot nor its closer.
    let stopped = false;
    const err = await rejectsWith(
      takeSnapshot(pid, join(scratch, 'stopped.heapsnapshot'), {
        timeoutMs: 3000,
        onProgress: () => {
          if (!stopped) process.kill(pid, 'SIGSTOP');
          stopped = true;
        },
      }),
      'MW_TIMEOUT',
      /the inspector may still be open on 127\.0\.0\.1:9349$/,
    );
    assert.ok(err && stopped);
    assert.ok(listensAt(pid, 9349), 'the message says open, the port says otherwise');
    // Once it runs again, the closer armed in it closes the inspector by itself.
    process.kill(pid, 'SIGCONT');
    // It first finishes the snapshot it was stopped in: seconds on a loaded machine.
    for (let i = 0; i < 3000 && listensAt(pid, 9349); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(listensAt(pid, 9349), false, "the dead man's switch did not close it");
  });

  it('times out on a target blocked in a system call, and leaks no fd, socket or timer (scenario 19)', async (t) => {
    const { pid } = await startNode(t, [
      '--inspect=127.0.0.1:9332',
      '-e',
      'console.log("ready"); require("child_process").execFileSync("sleep", ["60"])',
    ]);
    const fds = fdCount();
    const resources = activeResources();
    const started = performance.now();
    await rejectsWith(collectGarbage(pid, { timeoutMs: 3000 }), 'MW_TIMEOUT');
    assert.ok(performance.now() - started < 8000, 'the timeout was not kept');
    await assertNothingLeaked(fds, resources);
  });

  it('reports "did not open" for a target with its own SIGUSR1 handler, without retrying (scenario 18c)', async (t) => {
    const { pid, child } = await startNode(t, [
      '--inspect-port=9336',
      '-e',
      'let n = 0; process.on("SIGUSR1", () => console.log("usr1 " + ++n)); console.log("ready"); setInterval(() => {}, 1000)',
    ]);
    let signals = 0;
    child.stdout?.on('data', (c: Buffer) => {
      signals += (c.toString().match(/usr1/g) ?? []).length;
    });
    const started = performance.now();
    await rejectsWith(collectGarbage(pid, { timeoutMs: 5000 }), 'MW_TIMEOUT', /did not open/);
    assert.ok(performance.now() - started < 5000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(signals, 1, 'SIGUSR1 was sent more than once');
    assert.ok(isAlive(pid));
  });

  it('refuses a target started with --disable-sigusr1 without a signal, and says what to do instead (scenario 18b)', async (t) => {
    if (!HAS_DISABLE_SIGUSR1) return t.skip(`Node ${process.version} has no --disable-sigusr1`);
    const { pid, child } = await startNode(t, ['--disable-sigusr1', '-e', IDLE]);
    const advice = /--disable-sigusr1.*guard\(\) inside the program.*--inspect=127\.0\.0\.1:0/;
    await rejectsWith(collectGarbage(pid, { timeoutMs: 5000 }), 'MW_UNSUPPORTED', advice);
    const { code, stdout, stderr } = await runCli(['inspect', String(pid)]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, advice);
    // Without Node's handler SIGUSR1 would have killed it: alive means nothing was sent.
    assert.ok(isAlive(pid));
    assert.equal(child.signalCode, null);
  });

  it('collects in a --disable-sigusr1 target that opened its inspector itself on a port of its own', async (t) => {
    if (!HAS_DISABLE_SIGUSR1) return t.skip(`Node ${process.version} has no --disable-sigusr1`);
    const { pid } = await startNode(t, ['--disable-sigusr1', '--inspect=127.0.0.1:0', '-e', IDLE]);
    const result = await collectGarbage(pid, { timeoutMs: 5000, trim: false });
    assert.equal(result.details?.activated, false);
    assert.ok(listensAt(pid), 'the inspector the target opened itself was closed');
  });

  it('fails cleanly when the target exits right after SIGUSR1 (scenario 19)', async (t) => {
    const { pid } = await startNode(t, [
      '--inspect-port=9335',
      '-e',
      'const i = require("inspector"); console.log("ready"); setInterval(() => { if (i.url()) process.exit(0) }, 1)',
    ]);
    const fds = fdCount();
    const resources = activeResources();
    await rejectsWith(collectGarbage(pid, { timeoutMs: 5000 }), ['MW_NO_PROCESS', 'MW_FAILED']);
    await assertNothingLeaked(fds, resources);
  });

  it('never signals a pid whose start time changed (scenario 8)', async (t) => {
    const { pid, stderr } = await startNode(t, ['--inspect-port=9337', '-e', IDLE]);
    const identity = { pid, startTicks: (detectRuntime(pid)?.startTicks ?? 0) - 1 };
    await rejectsWith(collectGarbage(identity), 'MW_PID_REUSED', /PID reused/);
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(stderr(), /Debugger listening/);
    assert.equal(listensAt(pid), false);
  });

  it('refuses the remembered identity of a process that has exited', async (t) => {
    const { child, pid } = await startNode(t, ['-e', IDLE]);
    const identity = { pid, startTicks: detectRuntime(pid)?.startTicks ?? 0 };
    child.kill('SIGKILL');
    await waitForExit(child);
    await rejectsWith(collectGarbage(identity), 'MW_NO_PROCESS');
    await rejectsWith(takeSnapshot(identity, join(scratch, 'never.heapsnapshot')), 'MW_NO_PROCESS');
  });
});
