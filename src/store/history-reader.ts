import { Worker } from 'node:worker_threads';
import { MemwardenError } from '../errors.js';
import type { HistoryPoint, HistoryQuery, StoredEvent, SystemPoint, TargetSummary } from './types.js';

type EventsQuery = { sinceMs: number; untilMs?: number; target?: string; limit?: number };
type SystemQuery = { sinceMs: number; untilMs?: number; maxPoints?: number };

type HistoryRequest =
  | { method: 'history'; query: HistoryQuery }
  | { method: 'system'; query: SystemQuery }
  | { method: 'events'; query: EventsQuery }
  | { method: 'targets' };

/** A query sent to the reader's thread. */
export type HistoryCall = HistoryRequest & { id: number };

export type HistoryReply =
  | { id: number; result: unknown }
  | { id: number; error: { message: string; code: string } };

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export interface HistoryReaderOptions {
  /** A query still running after this long is stopped (its thread killed). Default 5 s. */
  timeoutMs?: number;
}

/**
 * The history file's queries, answered by a worker thread with its own read-only connection:
 * what the dashboard asks never runs on the thread that samples. Each query is bounded by the
 * store's point and row caps and by a timeout; a query past its timeout is stopped by killing
 * the thread, and the next query starts a new one.
 */
export class HistoryReader {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(
    readonly path: string,
    options: HistoryReaderOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  history(query: HistoryQuery): Promise<HistoryPoint[]> {
    return this.call({ method: 'history', query });
  }

  system(query: SystemQuery): Promise<SystemPoint[]> {
    return this.call({ method: 'system', query });
  }

  events(query: EventsQuery): Promise<StoredEvent[]> {
    return this.call({ method: 'events', query });
  }

  targets(): Promise<TargetSummary[]> {
    return this.call({ method: 'targets' });
  }

  /** Stops the thread; queries still waiting fail. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop(new MemwardenError('MW_FAILED', 'the history reader was closed'));
  }

  private call<T>(call: HistoryRequest): Promise<T> {
    if (this.closed) return Promise.reject(new MemwardenError('MW_FAILED', 'the history reader was closed'));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        void this.stop(
          new MemwardenError('MW_TIMEOUT', `a history query ran past ${this.timeoutMs} ms and was stopped`),
        );
      }, this.timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(id);
      };
      this.pending.set(id, {
        resolve: (value) => {
          done();
          resolve(value as T);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      worker.postMessage({ ...call, id });
    });
  }

  private start(): Worker {
    // The thread needs none of this process's flags; some (`-e`, `--input-type`) would stop it.
    const worker = new Worker(new URL('./history-worker.js', import.meta.url), {
      workerData: { path: this.path },
      execArgv: [],
    });
    // An idle reader keeps no process alive.
    worker.unref();
    worker.on('message', (reply: HistoryReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      if ('error' in reply)
        pending.reject(new MemwardenError('MW_FAILED', `history query failed: ${reply.error.message}`));
      else pending.resolve(reply.result);
    });
    worker.on('error', (err) => {
      void this.stop(new MemwardenError('MW_FAILED', `cannot read ${this.path}: ${err.message}`), worker);
    });
    worker.on('exit', () => {
      if (this.worker === worker)
        void this.stop(new MemwardenError('MW_FAILED', 'the history reader stopped'));
    });
    this.worker = worker;
    return worker;
  }

  /** Ends the current thread (or `which`, if it is still current) and fails what it was doing. */
  private async stop(reason: Error, which: Worker | undefined = this.worker): Promise<void> {
    if (which !== this.worker) return;
    this.worker = undefined;
    for (const pending of [...this.pending.values()]) pending.reject(reason);
    await which?.terminate();
  }
}
