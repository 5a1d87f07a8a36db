import type Database from 'better-sqlite3';
import { openDatabase } from './database.js';
import { queryEvents, queryHistory, querySystem, queryTargets } from './queries.js';
import type { HistoryPoint, HistoryQuery, StoredEvent, SystemPoint, TargetSummary } from './types.js';

/** How long a read waits for a watcher's write lock before it gives up. */
const READ_BUSY_TIMEOUT_MS = 50;

/**
 * The queries of a history file. Opened by `openHistory` it is read-only: the file must exist
 * and hold history, nothing is created, migrated or written, and it has no writing methods to
 * call by mistake. A watcher's `Store` answers the same queries on the file it writes.
 */
export class HistoryFile {
  protected constructor(
    readonly path: string,
    protected db: Database.Database,
    protected readonly now: () => number,
  ) {}

  /** Opens an existing history file for queries only. */
  static open(path: string): HistoryFile {
    const db = openDatabase(path, {
      readonly: true,
      recreateCorrupt: false,
      createDirectory: false,
      busyTimeoutMs: READ_BUSY_TIMEOUT_MS,
      nowMs: Date.now(),
    });
    return new HistoryFile(path, db, Date.now);
  }

  history(query: HistoryQuery): HistoryPoint[] {
    return queryHistory(this.db, query, this.now());
  }

  system(query: { sinceMs: number; untilMs?: number; maxPoints?: number }): SystemPoint[] {
    return querySystem(this.db, query, this.now());
  }

  events(query: { sinceMs: number; untilMs?: number; target?: string; limit?: number }): StoredEvent[] {
    return queryEvents(this.db, query);
  }

  targets(): TargetSummary[] {
    return queryTargets(this.db);
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Opens an existing history file for `history`, `report` and `serve --store`: a missing file, a
 * foreign or corrupt one, or one written by a newer memwarden is refused with one clear line.
 */
export function openHistory(path: string): HistoryFile {
  return HistoryFile.open(path);
}
