import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { errnoCode, MemwardenError } from '../errors.js';
import { requireParentDirectory } from '../output-path.js';
import { nativeModuleError } from './native.js';
import { checkSchema, migrate } from './schema.js';

export interface OpenDatabaseOptions {
  readonly: boolean;
  /** Make the file's directory when it is missing; otherwise a missing one is a usage error. */
  createDirectory: boolean;
  recreateCorrupt: boolean;
  busyTimeoutMs: number;
  nowMs: number;
}

const SQLITE_HEADER = 'SQLite format 3\0';
/** Keeps the WAL from staying large after a burst or a long reader (scenario 29). */
export const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/** Negative: KiB. Enough for the recent pages of the indexes a flush and a query touch. */
const CACHE_SIZE_KIB = 8192;
/** Opening may meet a lock held for WAL recovery by another process; it is short, so wait a bit. */
const OPEN_RETRY_MS = 2000;

export function sqliteCode(err: unknown): string | undefined {
  const code = errnoCode(err);
  return code?.startsWith('SQLITE_') ? code : undefined;
}

function isCorruption(err: unknown): boolean {
  const code = sqliteCode(err);
  return code === 'SQLITE_NOTADB' || code?.startsWith('SQLITE_CORRUPT') === true;
}

function isBusy(err: unknown): boolean {
  const code = sqliteCode(err);
  return code?.startsWith('SQLITE_BUSY') === true || code?.startsWith('SQLITE_LOCKED') === true;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A non-empty file that does not start with SQLite's magic is not worth handing to SQLite. */
function hasForeignHeader(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const read = readSync(fd, header, 0, header.length, 0);
    return read > 0 && header.toString('latin1', 0, read) !== SQLITE_HEADER;
  } finally {
    closeSync(fd);
  }
}

function stamp(nowMs: number): string {
  return new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Moves the file and its WAL and shm aside (evidence is kept, never overwritten); returns the new name. */
function moveAside(path: string, nowMs: number): string {
  const moved = `${path}.corrupt-${stamp(nowMs)}`;
  renameSync(path, moved);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, moved + suffix);
  }
  return moved;
}

function createPrivateFile(path: string, createDirectory: boolean): void {
  if (createDirectory) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  else requireParentDirectory(path, 'history file');
  try {
    // SQLite gives the -wal and -shm files the main file's mode, so 0600 here covers all three.
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
}

function withBusyRetry<T>(fn: () => T): T {
  const deadline = Date.now() + OPEN_RETRY_MS;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err) || Date.now() > deadline) throw err;
      sleepSync(25);
    }
  }
}

function openChecked(path: string, options: OpenDatabaseOptions): Database.Database {
  if (hasForeignHeader(path)) throw Object.assign(new Error('not an SQLite file'), { code: 'SQLITE_NOTADB' });
  // Read-write even for queries: the last connection to close then removes the WAL and shm files.
  // SQLite falls back to read-only by itself when the file is not writable.
  const db = new Database(path, { fileMustExist: true, timeout: options.busyTimeoutMs });
  try {
    db.pragma(`cache_size = -${CACHE_SIZE_KIB}`);
    if (options.readonly) {
      db.pragma('query_only = 1');
      db.prepare('SELECT count(*) FROM sqlite_master').get();
      if (checkSchema(db, path) === 0) {
        throw new MemwardenError('MW_FAILED', `${path} holds no history yet`);
      }
      return db;
    }
    withBusyRetry(() => db.pragma('journal_mode = WAL'));
    db.pragma('synchronous = NORMAL');
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
    withBusyRetry(() => migrate(db, path));
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Opens the history file. A missing file is an error for a reader (reading creates nothing); a
 * corrupt one is moved aside, and replaced by a new one only when `recreateCorrupt` is set.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions): Database.Database {
  if (options.readonly && !existsSync(path)) {
    throw new MemwardenError(
      'MW_FAILED',
      `no history file at ${path} (is a watcher storing there? see --store)`,
    );
  }
  try {
    if (!options.readonly) createPrivateFile(path, options.createDirectory);
    return openChecked(path, options);
  } catch (err) {
    if (err instanceof MemwardenError) throw err;
    const native = nativeModuleError(err);
    if (native) throw native;
    if (isCorruption(err)) {
      if (options.readonly) {
        throw new MemwardenError('MW_INPUT', `${path} is not a valid history file (corrupt or not SQLite)`);
      }
      const moved = moveAside(path, options.nowMs);
      if (options.recreateCorrupt) {
        createPrivateFile(path, options.createDirectory);
        return openChecked(path, options);
      }
      throw new MemwardenError(
        'MW_INPUT',
        `${path} was corrupt and has been moved to ${moved}; start again to create a new history file`,
      );
    }
    if (isBusy(err)) {
      throw new MemwardenError('MW_FAILED', `${path} is locked by another process; try again`);
    }
    throw new MemwardenError('MW_FAILED', `cannot open ${path}: ${err instanceof Error ? err.message : err}`);
  }
}
