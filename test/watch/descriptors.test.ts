import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { rawRequest } from '../helpers/http.js';
import { pidOf, waitForLines } from '../helpers/processes.js';
import { lastCycle, startServedWatcher, waitForOutput } from '../helpers/watcher.js';

function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** GET /metrics, retried while the server still turns connections away (closing them at once). */
async function metricsOnceServed(port: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await rawRequest(port, { path: '/metrics' });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Opens `count` connections and keeps them idle; resolves once each is connected or refused. */
function openIdle(port: number, count: number): Promise<Socket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve) => {
          const socket = connect(port, '127.0.0.1');
          socket.once('connect', () => resolve(socket));
          socket.once('error', () => resolve(socket));
        }),
    ),
  );
}

const WATCH = (marker: string) => ['--match', marker, '--interval', '100ms', '--json', '--no-store'];

describe('descriptors: clients cannot starve the watcher (issue 10, point 4)', () => {
  it('keeps ticking with 1000 idle connections under a 256-descriptor limit, and serves /metrics after', async () => {
    const marker = `mw-sec-web-fds-${process.pid}`;
    const watcher = await startServedWatcher(WATCH(marker), ['prlimit', '--nofile=256:256']);
    const sockets: Socket[] = [];
    try {
      await waitForOutput(watcher, () => lastCycle(watcher) >= 1, 'a first cycle');
      sockets.push(...(await openIdle(watcher.port, 1000)));
      const held = lastCycle(watcher);
      await waitForOutput(watcher, () => lastCycle(watcher) >= held + 5, 'five cycles under the flood');
      // The cap held: the watcher's descriptors stayed below its limit the whole time.
      assert.ok(readdirSync(`/proc/${pidOf(watcher.child)}/fd`).length < 256);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    const metrics = await metricsOnceServed(watcher.port);
    assert.equal(metrics.status, 200);
    assert.equal(metricValue(metrics.body, 'memwarden_up'), 1);
    assert.equal(metricValue(metrics.body, 'memwarden_cycle_errors_total'), 0);
    assert.equal(watcher.child.exitCode, null);
  });

  it('counts a cycle that runs out of descriptors, warns once, and recovers when they come back', async () => {
    const marker = `mw-sec-web-emfile-${process.pid}`;
    const watcher = await startServedWatcher(WATCH(marker));
    const pid = pidOf(watcher.child);
    await waitForOutput(watcher, () => lastCycle(watcher) >= 1, 'a first cycle');
    const failed = waitForLines(watcher.child, /failed \((EMFILE|ENFILE)\)/, { stream: 'stderr' });
    const recovered = waitForLines(watcher.child, /cycles work again after \d+ failed/, {
      stream: 'stderr',
      // Counted from here, across the failing cycles and the turned-away clients: generous, as
      // a loaded machine stretches all of them.
      timeoutMs: 60_000,
    });
    // Awaited below; a failure before then must not surface as an unhandled rejection.
    recovered.catch(() => undefined);
    // No descriptor left to open: every cycle's first read of /proc fails with EMFILE. Only the
    // soft limit moves, so that it can be raised back without CAP_SYS_RESOURCE.
    const open = readdirSync(`/proc/${pid}/fd`).length;
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${open}:`]);
    try {
      await failed;
      // A client meanwhile cannot be accepted (EMFILE on accept): it is turned away, no more.
      for (let i = 0; i < 3; i++) await rawRequest(watcher.port, { path: '/metrics' }).catch(() => undefined);
    } finally {
      execFileSync('prlimit', ['--pid', String(pid), '--nofile=1024:']);
    }
    await recovered;
    const before = lastCycle(watcher);
    await waitForOutput(watcher, () => lastCycle(watcher) > before, 'a cycle after the recovery');
    const metrics = await rawRequest(watcher.port, { path: '/metrics' });
    assert.equal(metrics.status, 200);
    assert.ok((metricValue(metrics.body, 'memwarden_cycle_errors_total') ?? 0) >= 1, metrics.body);
    assert.equal(watcher.child.exitCode, null);
  });
});
