/**
 * Times what `memwarden gc` and `memwarden snapshot` cost on a Node target with a ~100 MB
 * heap, each beside a baseline:
 *   - gc round trip (SIGUSR1, verified session, full GC, memory read, inspector closed), on a
 *     heap of 100 MB of garbage (a fresh target each round) and of 100 MB kept alive, vs. the
 *     bare activation (`kill -USR1` until /json/list first answers) and vs. the same full GC
 *     timed inside the target, which is the part no tool can avoid;
 *   - snapshot streamed over CDP to a file vs. the target writing its own snapshot with
 *     v8.writeHeapSnapshot (no transport at all).
 * Prints numbers only; run with `node --import tsx bench/gc.ts [rounds]`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcReader, readTcpListeners } from '../src/proc/index.js';
import { collectGarbage, detectRuntime, takeSnapshot } from '../src/runtimes/index.js';
import { closeInspector, evaluate, openInspector } from '../src/runtimes/node/index.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const HEAP_ARG = '80'; // the fixture's unit → about 100 MiB of V8 heap
const FIXTURE = new URL('../test/fixtures/node-garbage.js', import.meta.url).pathname;

function startTarget(keep = true): Promise<ChildProcess> {
  const args = ['--max-old-space-size=4096', FIXTURE, HEAP_ARG, ...(keep ? ['keep'] : [])];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      if (c.toString().includes('ready')) resolve(child);
    });
    child.once('exit', () => reject(new Error('target exited')));
  });
}

function jsonListAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/json/list', agent: false, timeout: 200 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

async function waitPortClosed(port: number): Promise<void> {
  while (readTcpListeners().some((l) => l.port === port)) await new Promise((r) => setTimeout(r, 5));
}

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  return `median ${median.toFixed(0).padStart(5)} ms   min ${(sorted[0] ?? 0).toFixed(0).padStart(5)}   max ${(sorted.at(-1) ?? 0).toFixed(0).padStart(5)}`;
}

async function main(): Promise<void> {
  if (readTcpListeners().some((l) => l.port === 9229)) throw new Error('port 9229 is taken: free it first');
  const child = await startTarget();
  const pid = child.pid ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'memwarden-bench-'));
  try {
    const reader = new ProcReader();
    const heap = await (async () => {
      const info = detectRuntime(pid, { reader });
      if (!info) throw new Error('target gone');
      const session = await openInspector(info, { reader });
      try {
        return (await evaluate(session.client, 'process.memoryUsage().heapUsed', 5000)) as number;
      } finally {
        await closeInspector(session);
      }
    })();
    await waitPortClosed(9229);
    console.log(
      `target pid ${pid}, heap used ${(heap / 2 ** 20).toFixed(0)} MiB, ${ROUNDS} rounds, node ${process.version}\n`,
    );

    const gcTimes: number[] = [];
    const activations: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      const r = await collectGarbage(pid, { reader });
      gcTimes.push(performance.now() - started);
      activations.push(Number(r.details?.activationMs ?? Number.NaN));
      await waitPortClosed(9229);
    }

    const bare: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      process.kill(pid, 'SIGUSR1');
      while (!(await jsonListAnswers(9229))) await new Promise((r) => setTimeout(r, 2));
      bare.push(performance.now() - started);
      // Close it again the way memwarden does, outside the timed part.
      const info = detectRuntime(pid, { reader });
      if (!info) throw new Error('target gone');
      const session = await openInspector(info, { reader });
      // The baseline's own SIGUSR1 opened it, so memwarden leaves it open: the target closes it
      // a moment after the session ends, as memwarden's closer does.
      // (`require` of the command-line API exists only while the evaluation runs.)
      await evaluate(
        session.client,
        'void ((inspector) => setTimeout(() => inspector.close(), 30).unref())(require("node:inspector"))',
        5000,
      );
      await closeInspector(session);
      await waitPortClosed(9229);
    }

    const inTarget: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const info = detectRuntime(pid, { reader });
      if (!info) throw new Error('target gone');
      const session = await openInspector(info, { reader });
      try {
        const ms = await evaluate(
          session.client,
          `(() => { require('v8').setFlagsFromString('--expose-gc'); const gc = require('vm').runInNewContext('gc');
            const t = performance.now(); gc(); return performance.now() - t; })()`,
          30_000,
        );
        inTarget.push(Number(ms));
      } finally {
        await closeInspector(session);
      }
      await waitPortClosed(9229);
    }

    const garbageTimes: number[] = [];
    const freed: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const fresh = await startTarget(false);
      try {
        const started = performance.now();
        const r = await collectGarbage(fresh.pid ?? 0, { reader });
        garbageTimes.push(performance.now() - started);
        freed.push(((r.heapUsedBefore ?? 0) - (r.heapUsedAfter ?? 0)) / 2 ** 20);
      } finally {
        fresh.kill('SIGKILL');
      }
      await waitPortClosed(9229);
    }

    const snapTimes: number[] = [];
    let bytes = 0;
    for (let i = 0; i < Math.min(ROUNDS, 3); i++) {
      const path = join(dir, `s${i}.heapsnapshot`);
      const started = performance.now();
      const r = await takeSnapshot(pid, path, { reader, timeoutMs: 120_000 });
      snapTimes.push(performance.now() - started);
      bytes = r.bytes;
      rmSync(path);
      await waitPortClosed(9229);
    }

    const selfTimes: number[] = [];
    for (let i = 0; i < Math.min(ROUNDS, 3); i++) {
      const path = join(dir, `self${i}.heapsnapshot`);
      const info = detectRuntime(pid, { reader });
      if (!info) throw new Error('target gone');
      const session = await openInspector(info, { reader, timeoutMs: 120_000 });
      try {
        const ms = await evaluate(
          session.client,
          `(() => { const t = performance.now(); require('v8').writeHeapSnapshot(${JSON.stringify(path)}); return performance.now() - t; })()`,
          120_000,
        );
        selfTimes.push(Number(ms));
      } finally {
        await closeInspector(session);
      }
      statSync(path);
      rmSync(path);
      await waitPortClosed(9229);
    }

    const mib = (freed.reduce((a, b) => a + b, 0) / freed.length).toFixed(0);
    const row = (label: string, values: number[]) => console.log(`${label.padEnd(48)} ${stats(values)}`);
    row(`gc round trip, 100 MB garbage (${mib} MiB freed)`, garbageTimes);
    row('gc round trip, 100 MB kept alive', gcTimes);
    row('  of which activation (SIGUSR1 → verified)', activations);
    row('baseline: kill -USR1 → first /json/list', bare);
    row('baseline: the same full GC inside the target', inTarget);
    row(`snapshot over CDP → file (${(bytes / 2 ** 20).toFixed(0)} MiB)`, snapTimes);
    row('baseline: v8.writeHeapSnapshot in the target', selfTimes);
    reader.close();
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
