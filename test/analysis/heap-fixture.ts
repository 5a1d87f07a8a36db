/**
 * Drives test/analysis/heap-target.js, a real Node process whose heap grows on command, and
 * keeps the snapshots it writes in a temporary directory removed by `dispose`.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, waitForLine } from '../helpers/processes.js';

const SCRIPT = fileURLToPath(new URL('./heap-target.js', import.meta.url));

export class HeapTarget {
  private snapshotCount = 0;

  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
  ) {}

  static async start(): Promise<HeapTarget> {
    const dir = await mkdtemp(join(tmpdir(), 'memwarden-heap-'));
    const child = start(process.execPath, [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    await waitForLine(child, /^ready$/);
    return new HeapTarget(child, dir);
  }

  private async command(line: string, answer: RegExp): Promise<string> {
    const answered = waitForLine(this.child, answer, 60_000);
    this.child.stdin?.write(`${line}\n`);
    return answered;
  }

  /** Adds `count` SessionRecord objects to the target's module-level Map. */
  async grow(count: number): Promise<void> {
    await this.command(`grow ${count}`, /^grown /);
  }

  /** Writes a heap snapshot of the target and returns its path. */
  async snapshot(): Promise<string> {
    const path = join(this.dir, `s${++this.snapshotCount}.heapsnapshot`);
    await this.command(`snap ${path}`, /^snapped /);
    return path;
  }

  async dispose(): Promise<void> {
    this.child.kill('SIGKILL');
    await rm(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }
}
