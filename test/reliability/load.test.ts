/**
 * RELIABILITY.md scenario 31: 2000 processes, 20 of them with 50 threads, watched by a real
 * `memwarden watch` that serves /metrics. What is checked here is that every cycle sees every
 * process whole and that /metrics answers with one target series and no pid label. Cycle p99,
 * CPU budget and /metrics latency are times: they are measured by `npm run bench`, side by side
 * with peers, never asserted in a test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcReader } from '../../src/proc/index.js';
import { BIN, CLI_ENV } from '../helpers/cli.js';
import { pidOf, start, waitForExit, waitForLine, waitUntil } from '../helpers/processes.js';

/** The scenario's crowd: sleeps, and Pythons with many threads; 2000 in all. */
const [SLEEPERS, THREADED, THREADS] = [1980, 20, 50];

type ProcessLine = { kind: string; cycle: number; pid: number; rss?: number };

describe('2000 processes (scenario 31)', () => {
  it('scenario 31: every cycle samples all 2000 processes whole, and /metrics sums them with no pid label', async (t) => {
    const mark = `600.${process.pid}${Math.floor(Math.random() * 1e6)}`;
    // One shell, one process group: killing the group (the helper does, even on failure) ends all.
    const threaded = `import threading, time\nfor _ in range(${THREADS}): threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\ntime.sleep(600)`;
    // The mark and the script come through the environment, so the shell does not match itself.
    const crowd = start(
      'sh',
      [
        '-c',
        `i=0; while [ $i -lt ${SLEEPERS} ]; do sleep "$MARK" & i=$((i+1)); done
         i=0; while [ $i -lt ${THREADED} ]; do /usr/bin/python3 -c "$THREADED" "$MARK" & i=$((i+1)); done
         echo ready; wait`,
      ],
      { env: { ...process.env, MARK: mark, THREADED: threaded } },
    );
    await waitForLine(crowd, /^ready$/, 120_000);
    const reader = new ProcReader();
    const matching = () => reader.sweep().filter((r) => r.cmdline.includes(mark));
    await waitUntil(
      `${SLEEPERS + THREADED} processes, ${THREADED} of them with ${THREADS + 1} threads`,
      () => {
        const found = matching();
        return (
          found.length === SLEEPERS + THREADED &&
          found.filter((r) => r.threads === THREADS + 1).length === THREADED
        );
      },
      120_000,
    );
    reader.close();

    const watch = start(
      process.execPath,
      [BIN, 'watch', '--match', mark, '--interval', '2s', '--json', '--no-store', '--listen', '127.0.0.1:0'],
      { env: CLI_ENV },
    );
    t.after(() => {
      if (watch.exitCode === null && watch.signalCode === null) process.kill(-pidOf(watch), 'SIGKILL');
    });
    let stdout = '';
    watch.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    const [announced = ''] = await new Promise<string[]>((resolve, reject) => {
      let stderr = '';
      watch.stderr?.on('data', (c: Buffer) => {
        stderr += c.toString();
        const m = /dashboard on (http:\/\/\S+?\/),/.exec(stderr);
        if (m?.[1]) resolve([m[1]]);
      });
      watch.once('exit', (code) => reject(new Error(`watch exited (${code}): ${stderr}`)));
    });
    // Only whole lines: the last one may still be on its way.
    const lines = () =>
      stdout
        .slice(0, stdout.lastIndexOf('\n') + 1)
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as ProcessLine);
    // Cycle 3 has begun, so cycles 1 and 2 are complete.
    await waitUntil('three cycles', () => lines().some((l) => l.kind === 'system' && l.cycle === 3), 120_000);

    const metrics = await fetch(`${announced}metrics`);
    assert.equal(metrics.status, 200);
    const body = await metrics.text();
    assert.match(
      body,
      new RegExp(
        `^memwarden_target_processes\\{target="${mark.replace('.', '\\.')}"\\} ${SLEEPERS + THREADED}$`,
        'm',
      ),
    );
    assert.doesNotMatch(body, /pid="/);

    const exited = waitForExit(watch);
    process.kill(pidOf(watch), 'SIGTERM');
    assert.equal(await exited, 0);
    for (const cycle of [1, 2]) {
      const samples = lines().filter((l) => l.kind === 'process' && l.cycle === cycle);
      assert.equal(new Set(samples.map((s) => s.pid)).size, SLEEPERS + THREADED, `cycle ${cycle}`);
      assert.ok(
        samples.every((s) => typeof s.rss === 'number' && s.rss > 0),
        `cycle ${cycle} has a process without its RSS`,
      );
    }
  });
});
