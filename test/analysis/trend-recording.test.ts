/**
 * Real recordings: a Node process that keeps what it allocates and one that lets a GC sawtooth
 * come and go, their RSS read from /proc/<pid>/statm a few times a second, then judged.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { detectTrend, type MemorySeries } from '../../src/analysis/trend/index.js';
import { pidOf, start, waitForLine } from '../helpers/processes.js';

const PAGE_BYTES = Number(spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).stdout.trim());
const SAMPLES = 120;
const SAMPLE_INTERVAL_MS = 60;

// Keeps a 256 KiB buffer every 20 ms: about 12 MiB/s that is never given back.
const LEAKING = `
const kept = [];
setInterval(() => kept.push(Buffer.alloc(256 * 1024, 1)), 20);
console.log('ready');
`;

// Allocates at the same pace but drops everything and collects every half second. It is ready
// after its second collection: the heap's first growth is over by then.
const SAWTOOTH = `
let garbage = [];
let ticks = 0;
setInterval(() => {
  garbage.push(Buffer.alloc(256 * 1024, 1));
  if (++ticks % 25 === 0) {
    garbage = [];
    globalThis.gc();
    if (ticks === 50) console.log('ready');
  }
}, 20);
`;

// A JIT compiling the hot callback a few seconds in adds a megabyte or two of code and compiler
// memory (seen on Node 24). Stretched 400 times, that step lands an hour into the series, where
// the detector rightly takes it for growth; without the JIT the floor is flat.
const NO_JIT = '--jitless';

async function rssBytes(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/statm`, 'utf8')).trim().split(/\s+/);
  return Number(fields[1]) * PAGE_BYTES;
}

/**
 * A recording of a few seconds is stretched to minutes: the detector wants minutes of evidence
 * before it calls a leak, and these processes do in 60 ms what a real one does in a few seconds.
 * It also wants several of a sawtooth's own cycles, however long they are: the 120 samples
 * hold about a dozen, whatever the machine's speed makes of their spacing.
 */
const STRETCH = 400;

/** Starts `script`, waits for its ready line, then records its RSS on the monotonic clock. */
async function record(script: string, nodeFlags: string[] = []): Promise<MemorySeries & { bytes: number[] }> {
  // Buffers this size are then always mapped on their own, so freeing one returns its pages at
  // once instead of leaving them in malloc's heap, as a collected JS heap does.
  const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: String(128 * 1024) };
  const child = start(process.execPath, [...nodeFlags, '-e', script], { env });
  await waitForLine(child, /^ready$/);
  const pid = pidOf(child);
  const timeSeconds: number[] = [];
  const bytes: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    timeSeconds.push((performance.now() / 1000) * STRETCH);
    bytes.push(await rssBytes(pid));
    await sleep(SAMPLE_INTERVAL_MS);
  }
  child.kill('SIGKILL');
  return { timeSeconds, bytes };
}

describe('trend detector on real recordings', () => {
  it('calls a process that keeps its allocations a leak', async () => {
    const series = await record(LEAKING);
    const result = detectTrend(series, { limitBytes: 64 * 1024 ** 3 });
    assert.equal(result.verdict, 'leak', `${result.reason}; rss: ${series.bytes.join(' ')}`);
    const slope = (result.slopeBytesPerSecond ?? 0) * STRETCH;
    assert.ok(slope > 1024 * 1024, `slope ${slope} B/s`);
    assert.ok((result.timeToLimitSeconds ?? 0) > 0);
  });

  it('sees no leak in a process whose memory rises and falls with each collection', async () => {
    const series = await record(SAWTOOTH, ['--expose-gc', NO_JIT]);
    const result = detectTrend(series);
    const highest = Math.max(...series.bytes);
    const lowest = Math.min(...series.bytes);
    assert.ok(highest - lowest > 2 * 1024 * 1024, `no sawtooth recorded: ${series.bytes.join(' ')}`);
    assert.equal(result.verdict, 'no-leak', `${result.reason}; rss: ${series.bytes.join(' ')}`);
  });
});
