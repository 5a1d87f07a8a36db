/**
 * What reaches the operating system: for each target that holds freed memory in its allocator,
 * the RSS after `gc` alone (the runtime's collection, what the old shell loop did) beside the RSS
 * after `gc` + trim (collection, then malloc_trim or the allocator's own call), and the time of
 * each. A fresh target for each run, so that the second does not find the first's work done.
 * Targets: a Python crawler's page cycles (4 KiB bytearrays), a Node service that dropped a Map
 * of 2 KiB Buffers, and redis-server (jemalloc) after its keys were deleted. Prints, never asserts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from '../src/runtimes/debugger.js';
import { collectGarbage, type GcResult, trimMemory } from '../src/runtimes/index.js';
import { formatBytes } from '../src/units/index.js';
import { freePort } from '../test/helpers/http.js';
import { fillAndEmpty } from '../test/helpers/redis.js';

const FIXTURES = new URL('../test/fixtures/', import.meta.url).pathname;

interface Target {
  name: string;
  start(): Promise<ChildProcess>;
  /** Native targets have no collector: only the trim applies. */
  native?: boolean;
}

function waitFor(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (c: Buffer) => {
      seen += c.toString();
      if (pattern.test(seen)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`target exited (${code}) before ${pattern}`)));
  });
}

async function started(command: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  await waitFor(child, ready);
  return child;
}

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-bench-release-'));
let beats = 0;

const targets: Target[] = [
  {
    name: 'Python, 70 000 page cycles (4 KiB bytearrays)',
    start: () =>
      started(
        'python3',
        [join(FIXTURES, 'py_page_cycles.py'), join(scratch, `beat-${beats++}`), '70000'],
        /ready/,
      ),
  },
  {
    name: 'Node, dropped Map of 150 000 × 2 KiB Buffers',
    start: () =>
      started(
        process.execPath,
        ['--inspect-port=9362', join(FIXTURES, 'node-buffers.js'), '150000'],
        /ready/,
      ),
  },
];
const redis = findOnPath(['redis-server']);
if (redis !== undefined) {
  targets.push({
    name: 'redis-server (jemalloc), 60 000 × 4 KB keys set, then deleted',
    native: true,
    async start() {
      const port = await freePort();
      const child = await started(
        redis,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', ''],
        /Ready to accept/,
      );
      await fillAndEmpty(port, 60_000);
      return child;
    },
  });
}

async function once(target: Target, trim: boolean): Promise<GcResult | string> {
  const child = await target.start();
  try {
    if (target.native && !trim) return 'no collector';
    const pid = child.pid as number;
    return await (target.native ? trimMemory : collectGarbage)(pid, { timeoutMs: 60_000, trim });
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    child.kill('SIGKILL');
  }
}

function cell(r: GcResult | string): string {
  if (typeof r === 'string') return r.slice(0, 40);
  return `${formatBytes(r.rssBefore)} → ${formatBytes(r.rssAfter)} in ${Math.round(r.durationMs)} ms`;
}

export async function benchRelease(): Promise<void> {
  console.log('\nrelease: RSS after gc alone vs gc + trim (fresh target each), and the time of each');
  const rows: string[][] = [['target', 'gc alone', 'gc + trim', 'trim step']];
  for (const target of targets) {
    const alone = await once(target, false);
    const both = await once(target, true);
    const trimStep = typeof both === 'string' ? undefined : both.steps.find((s) => s.step === 'trim');
    rows.push([
      target.name,
      cell(alone),
      cell(both),
      trimStep?.ran
        ? `${trimStep.via} ${Math.round(trimStep.durationMs ?? 0)} ms`
        : (trimStep?.skipped ?? trimStep?.error ?? '-'),
    ]);
  }
  if (redis === undefined) rows.push(['redis-server', 'not installed', '', '']);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
  rmSync(scratch, { recursive: true, force: true });
}
