import type Database from 'better-sqlite3';
import type { UnfinishedAction } from './types.js';
import { asError, type StoreWriter } from './writer.js';

/** What the previous watcher left unfinished, found when this one opened the file. */
export interface Unfinished {
  listed: UnfinishedAction[];
  count: number;
}

/**
 * Each watcher run is a session row, closed on a clean exit. A session still open when the next
 * run starts means that run was killed: whatever it had not flushed is missing, and every action
 * it journalled without an outcome may or may not have happened. Both are told in the history,
 * and a failure here only costs bookkeeping, never sampling.
 */
export class Sessions {
  private sessionId = 0;
  /** Actions the previous watcher began and never finished: marked `unknown` when this one opened. */
  readonly unfinished: Unfinished = { listed: [], count: 0 };

  constructor(
    private readonly writer: StoreWriter,
    private readonly now: () => number,
  ) {}

  /** Opens a session on `db` (the writer's file), closing a crashed one first. */
  start(db: Database.Database): void {
    const nowMs = this.now();
    const writer = this.writer;
    let unfinished: Unfinished = { listed: [], count: 0 };
    try {
      db.transaction(() => {
        unfinished = writer.state.closeUnfinished(nowMs);
        const open = db.prepare('SELECT count(*) FROM sessions WHERE closed_at IS NULL').pluck().get();
        if (open !== 0) {
          const crashedAfterMs =
            (db.prepare('SELECT max(time) FROM batches').pluck().get() as number | null) ?? nowMs;
          db.prepare('UPDATE sessions SET closed_at = ? WHERE closed_at IS NULL').run(crashedAfterMs);
          // In the same transaction that closes the crashed session: a gap only queued here
          // would be lost if this run died before its first flush, and the next start would
          // find no open session to tell it.
          writer.insertEventNow({
            time: nowMs,
            kind: 'gap',
            message:
              'the previous watcher stopped without closing the history; samples after its last batch are missing',
            details: { fromMs: crashedAfterMs, toMs: nowMs },
          });
        }
        this.sessionId = Number(
          db.prepare('INSERT INTO sessions (started_at) VALUES (?)').run(nowMs).lastInsertRowid,
        );
      }).immediate();
    } catch (err) {
      writer.noteWriteError(asError(err));
      return;
    }
    Object.assign(this.unfinished, unfinished);
    for (const action of unfinished.listed) {
      writer.appendEvent({
        time: nowMs,
        kind: 'action',
        target: action.target,
        pid: action.pid,
        startTicks: action.startTicks,
        rule: action.rule,
        message: `${action.action}: outcome unknown: the previous watcher stopped before it reported back`,
        details: { ok: false, code: 'UNKNOWN', startedAt: action.time },
      });
    }
  }

  /** Marks this run's session closed: only once all it sampled is in the file. */
  close(db: Database.Database): void {
    try {
      db.prepare('UPDATE sessions SET closed_at = ? WHERE id = ?').run(this.now(), this.sessionId);
    } catch (err) {
      this.writer.noteWriteError(asError(err));
    }
  }
}
