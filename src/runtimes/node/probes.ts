import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MemwardenError } from '../../errors.js';
import type { RuntimeInfo } from '../detect.js';
import { type CdpClient, evaluate, isRecord } from './cdp.js';
import {
  closeInspector,
  describeForeign,
  type ForeignConnection,
  foreignConnections,
  type InspectorOptions,
  type InspectorSession,
  openInspector,
  stillOpen,
} from './session.js';

export interface HeapUsage {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
}

export interface NodeGcResult {
  version?: string;
  heapBefore: HeapUsage;
  heapAfter: HeapUsage;
  /** SIGUSR1 to a verified session; 0 when the inspector was already open. */
  activationMs: number;
  window: InspectorWindow;
}

export interface SnapshotProgress {
  done: number;
  total: number;
}

export interface NodeSnapshotResult {
  version?: string;
  path: string;
  bytes: number;
  window: InspectorWindow;
}

async function heapUsage(session: InspectorSession): Promise<HeapUsage> {
  const value = await evaluate(
    session.client,
    'process.memoryUsage()',
    session.deadline.step(session.commandMs),
  );
  if (!isRecord(value)) throw new MemwardenError('MW_FAILED', 'process.memoryUsage() gave no object');
  const num = (key: string): number => {
    const v = value[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new MemwardenError('MW_FAILED', `process.memoryUsage().${key} is not a number`);
    }
    return v;
  };
  return {
    heapUsed: num('heapUsed'),
    heapTotal: num('heapTotal'),
    rss: num('rss'),
    external: num('external'),
  };
}

/** What every probe over the inspector reports about the window it opened. */
export interface InspectorWindow {
  /** The inspector port used; `activated` says whether memwarden opened it. */
  port: number;
  activated: boolean;
  /** Whether the port is verified closed (or was already open before and left so). */
  inspectorClosed: boolean;
  /** How long the port was open for anyone on this host to connect to: signal to verified close. */
  exposureMs: number;
  /** Clients of the inspector other than memwarden seen during the session (scenario 40a). */
  foreign: ForeignConnection[];
}

/**
 * Runs `body` in a verified session and always ends it: the WebSocket is closed, and the
 * inspector too when memwarden opened it. A failure of the body wins over one of the close.
 */
async function withSession<T>(
  target: RuntimeInfo,
  options: InspectorOptions,
  body: (session: InspectorSession) => Promise<T>,
): Promise<{ value: T; session: InspectorSession; window: InspectorWindow }> {
  const session = await openInspector(target, options);
  const root = options.reader?.root;
  let value: T;
  try {
    value = await body(session);
  } catch (err) {
    const closed = await closeInspector(session, root).catch(() => false);
    if (!closed && session.activated && err instanceof MemwardenError) throw stillOpen(err, session);
    throw err;
  }
  const inspectorClosed = await closeInspector(session, root);
  const window: InspectorWindow = {
    port: session.port,
    activated: session.activated,
    inspectorClosed,
    exposureMs: session.activated ? performance.now() - session.openedAt : 0,
    foreign: session.activated ? foreignConnections(session, root) : [],
  };
  return { value, session, window };
}

/** How the probe reached the target, for its result line: `inspector on port 9229 (…)`. */
export function inspectorVia(window: InspectorWindow): string {
  if (!window.activated) return `its open inspector on port ${window.port} (left open)`;
  const state = window.inspectorClosed ? 'closed after' : 'MAY STILL BE OPEN';
  const foreign = window.foreign.length > 0 ? `; ${describeForeign(window.foreign)}` : '';
  return `inspector on port ${window.port} (opened with SIGUSR1, ${state}${foreign})`;
}

/**
 * A full garbage collection inside a Node process, with `process.memoryUsage()` read before and
 * after. One `HeapProfiler.collectGarbage` is enough: V8 runs it as a low-memory notification,
 * which already repeats full collections until one frees nothing more.
 */
export async function nodeCollectGarbage(
  target: RuntimeInfo,
  options: InspectorOptions = {},
): Promise<NodeGcResult> {
  const { value, session, window } = await withSession(target, options, async (s) => {
    const heapBefore = await heapUsage(s);
    await s.client.send('HeapProfiler.collectGarbage', {}, s.deadline.step(s.commandMs));
    const heapAfter = await heapUsage(s);
    return { heapBefore, heapAfter };
  });
  const result: NodeGcResult = {
    ...value,
    activationMs: session.activated ? session.activationMs : 0,
    window,
  };
  if (session.version) result.version = session.version;
  return result;
}

/**
 * A file written under a temporary name in the same directory and renamed at the end, so that
 * the final name never holds half a snapshot. O_EXCL and mode 0600: the file may hold secrets
 * from the target's heap, and a planted symlink must not redirect the write.
 */
class AtomicFile {
  private readonly tmp: string;
  private fd: number | undefined;
  bytes = 0;

  constructor(private readonly path: string) {
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
    try {
      this.fd = openSync(this.tmp, 'wx', 0o600);
    } catch (err) {
      throw new MemwardenError(
        'MW_FAILED',
        `cannot write ${this.tmp}: ${err instanceof Error ? err.message : err}`,
      );
    }
  }

  write(text: string): void {
    if (this.fd === undefined) return;
    const buffer = Buffer.from(text, 'utf8');
    let done = 0;
    while (done < buffer.length) done += writeSync(this.fd, buffer, done);
    this.bytes += buffer.length;
  }

  commit(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    renameSync(this.tmp, this.path);
  }

  abandon(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    try {
      unlinkSync(this.tmp);
    } catch {
      // never created or already gone
    }
  }
}

async function streamSnapshot(
  client: CdpClient,
  file: AtomicFile,
  timeoutMs: number,
  onProgress?: (p: SnapshotProgress) => void,
): Promise<void> {
  let writeError: unknown;
  const stop = client.onEvent((event) => {
    if (event.method === 'HeapProfiler.addHeapSnapshotChunk' && typeof event.params.chunk === 'string') {
      if (writeError) return;
      try {
        file.write(event.params.chunk);
      } catch (err) {
        writeError = err;
      }
    } else if (event.method === 'HeapProfiler.reportHeapSnapshotProgress' && onProgress) {
      const { done, total } = event.params;
      if (typeof done === 'number' && typeof total === 'number') onProgress({ done, total });
    }
  });
  try {
    await client.send('HeapProfiler.takeHeapSnapshot', { reportProgress: true }, timeoutMs);
  } finally {
    stop();
  }
  if (writeError) {
    throw new MemwardenError(
      'MW_FAILED',
      `writing the snapshot failed: ${writeError instanceof Error ? writeError.message : writeError}`,
    );
  }
}

/**
 * Heap snapshots of a Node process streamed to files, `gapMs` apart, all in one inspector
 * session: V8 forgets its object ids when the heap profiler is disabled, and the 3-snapshot
 * technique needs the ids to stay the same from one snapshot to the next.
 */
export async function nodeHeapSnapshots(
  target: RuntimeInfo,
  paths: readonly string[],
  options: InspectorOptions & { gapMs?: number; onProgress?: (p: SnapshotProgress) => void } = {},
): Promise<NodeSnapshotResult[]> {
  const { value, session, window } = await withSession(target, options, async (s) => {
    await s.client.send('HeapProfiler.enable', {}, s.deadline.step(s.commandMs));
    const sizes: number[] = [];
    for (const [index, path] of paths.entries()) {
      if (index > 0) await new Promise((resolve) => setTimeout(resolve, options.gapMs ?? 0));
      const file = new AtomicFile(path);
      try {
        await streamSnapshot(s.client, file, s.deadline.step(s.deadline.totalMs), options.onProgress);
        file.commit();
        sizes.push(file.bytes);
      } catch (err) {
        file.abandon();
        throw err;
      }
    }
    await s.client.send('HeapProfiler.disable', {}, s.deadline.step(s.commandMs));
    return sizes;
  });
  return paths.map((path, index) => {
    const result: NodeSnapshotResult = {
      path,
      bytes: value[index] ?? 0,
      window,
    };
    if (session.version) result.version = session.version;
    return result;
  });
}

/** One heap snapshot of a Node process, streamed to `path` (written whole or not at all). */
export async function nodeHeapSnapshot(
  target: RuntimeInfo,
  path: string,
  options: InspectorOptions & { onProgress?: (p: SnapshotProgress) => void } = {},
): Promise<NodeSnapshotResult> {
  const [result] = await nodeHeapSnapshots(target, [path], options);
  return result as NodeSnapshotResult;
}
