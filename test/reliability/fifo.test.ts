/**
 * RELIABILITY.md scenario 34, the slow-read case on the real /proc: a FIFO bound over files of
 * live processes, in a private mount namespace, with a writer that holds it open and never
 * writes (so a blocking read would wait for ever, where one with no writer would see EOF).
 * Nothing a process can make its /proc files look like may stall a cycle or a probe. The
 * fixture-procfs version is the reader test "never hangs on a file that blocks".
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BIN, CLI_ENV, jsonRecords } from '../helpers/cli.js';
import { isAlive, pidOf, start, waitForLine } from '../helpers/processes.js';

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-fifo-'));
after(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5 }));
let fifos = 0;

function namespaceProblem(): string | false {
  if (process.geteuid?.() !== 0) return 'needs root, to bind-mount over /proc files in a mount namespace';
  const probe = start('sleep', ['600']);
  const fifo = newFifo();
  try {
    execFileSync('unshare', ['-m', 'sh', '-c', `mount --bind ${fifo} /proc/${pidOf(probe)}/cmdline`], {
      stdio: 'pipe',
    });
    return false;
  } catch (err) {
    return `cannot bind-mount a FIFO over a /proc file in a mount namespace here: ${String(err).split('\n')[0]}`;
  } finally {
    process.kill(-pidOf(probe), 'SIGKILL');
  }
}

function newFifo(): string {
  const path = join(scratch, `fifo-${fifos++}`);
  execFileSync('mkfifo', [path]);
  return path;
}

/** What a run stalled past the guard exits with: SIGKILL from `timeout`. */
const STALLED = 137;

/**
 * Runs memwarden ARGS in a mount namespace where each of `over` (/proc/PID/FILE) is the FIFO,
 * held open for writing by the shell (fd 3) for as long as memwarden runs. `timeout` kills a
 * run that stalls, so the test fails instead of hanging.
 */
function withFifoOver(
  over: readonly string[],
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const fifo = newFifo();
  const binds = over
    .filter((path) => existsSync(path))
    .map((path) => `mount --bind "$fifo" ${path} || exit 97`);
  const script = `fifo=$1; shift\nexec 3<>"$fifo"\n${binds.join('\n')}\ntimeout -s KILL 30 "$@"`;
  return new Promise((resolve, reject) => {
    execFile(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', fifo, process.execPath, BIN, ...args],
      { env: CLI_ENV, encoding: 'utf8', timeout: 90_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        if (code === 97) reject(new Error(`could not bind the FIFO: ${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

const PER_PROCESS = [
  'cmdline',
  'comm',
  'status',
  'statm',
  'smaps_rollup',
  'io',
  'environ',
  'maps',
  'cgroup',
  'oom_score_adj',
  'schedstat',
];
const IDLE_NODE = 'console.log("ready"); setInterval(() => {}, 1000);';

describe('a FIFO over real /proc files (scenario 34)', { skip: namespaceProblem() }, () => {
  it("scenario 34: a FIFO over a process's /proc files stalls no watch cycle, and the others are still sampled", async () => {
    const mark = `${process.pid}${Math.floor(Math.random() * 1e6)}`;
    const hidden = start('sleep', [`600.${mark}1`]);
    const seen = start('sleep', [`600.${mark}2`]);
    const over = [
      ...PER_PROCESS.map((f) => `/proc/${pidOf(hidden)}/${f}`),
      // The watched one keeps its cmdline, so it is still matched, but nothing else.
      ...PER_PROCESS.filter((f) => f !== 'cmdline').map((f) => `/proc/${pidOf(seen)}/${f}`),
    ];
    const run = await withFifoOver(over, [
      'watch',
      '--match',
      `600.${mark}`,
      '--count',
      '3',
      '--interval',
      '100ms',
      '--json',
      '--no-store',
    ]);
    assert.notEqual(run.code, STALLED, `a cycle stalled: ${run.stderr}`);
    assert.equal(run.code, 0, run.stderr);
    const cycles = new Set(jsonRecords<{ cycle: number }>(run.stdout, 'system').map((r) => r.cycle));
    assert.deepEqual([...cycles], [1, 2, 3]);
    const samples = jsonRecords<{ pid: number; cycle: number }>(run.stdout, 'process');
    assert.deepEqual(
      samples.filter((s) => s.pid === pidOf(seen)).map((s) => s.cycle),
      [1, 2, 3],
      run.stdout,
    );
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });

  it('scenario 34: inspect and gc on a Node process whose maps, environ and status are FIFOs answer, and send nothing', async () => {
    const node = start(process.execPath, ['-e', IDLE_NODE]);
    let nodeStderr = '';
    node.stderr?.on('data', (c: Buffer) => {
      nodeStderr += c.toString();
    });
    await waitForLine(node, /^ready$/);
    const pid = pidOf(node);
    const over = ['maps', 'environ', 'status', 'smaps_rollup', 'statm'].map((f) => `/proc/${pid}/${f}`);
    const inspect = await withFifoOver(over, ['inspect', String(pid), '--json']);
    assert.notEqual(inspect.code, STALLED, `inspect stalled: ${inspect.stderr}`);
    assert.doesNotMatch(inspect.stderr, /\n\s+at /, 'no stack trace');
    const gc = await withFifoOver(over, ['gc', String(pid), '--collect-only', '--timeout', '10s']);
    assert.notEqual(gc.code, STALLED, `gc stalled: ${gc.stderr}`);
    assert.doesNotMatch(gc.stderr, /\n\s+at /, 'no stack trace');
    // Its environment could not be read, so the inspector's host is unknown: it is never opened.
    assert.equal(gc.code, 1, gc.stderr);
    assert.ok(isAlive(pid));
    assert.doesNotMatch(nodeStderr, /Debugger listening/);
  });

  it('scenario 34: a pid file that is a FIFO with a writer reads as no pid, at once', async () => {
    const fifo = newFifo();
    // A writer that never writes: a blocking open and read of the FIFO would wait for ever.
    const holder = start('sh', ['-c', `exec 3<>${fifo}; echo ready; exec sleep 600`]);
    await waitForLine(holder, /^ready$/);
    const run = await runGuarded(['ps', '--pidfile', fifo, '--json']);
    assert.notEqual(run.code, STALLED, `ps stalled: ${run.stderr}`);
    assert.match(run.stderr, new RegExp(`pid file ${fifo} does not hold a pid|cannot read pid file ${fifo}`));
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });
});

/** memwarden ARGS, killed by \`timeout\` if it stalls. */
function runGuarded(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'timeout',
      ['-s', 'KILL', '30', process.execPath, BIN, ...args],
      { env: CLI_ENV, encoding: 'utf8' },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    );
  });
}
