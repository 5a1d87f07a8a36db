import type Database from 'better-sqlite3';
import { MemwardenError } from '../errors.js';

/** `PRAGMA application_id`: tells a memwarden history file from any other SQLite file. */
export const APPLICATION_ID = 0x4d57_4831; // "MWH1"

/**
 * Each entry takes the file from version i to i + 1. Append only: a released migration is never
 * edited, because files written by it exist.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    samples INTEGER NOT NULL
  );
  CREATE INDEX batches_time ON batches (time);

  CREATE TABLE targets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
  );

  CREATE TABLE processes (
    id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    start_ticks INTEGER NOT NULL,
    name TEXT NOT NULL,
    cmdline TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    UNIQUE (pid, start_ticks)
  );

  -- resolution_ms 0 is a raw sample; otherwise the row averages 'samples' raw ones.
  CREATE TABLE process_samples (
    time INTEGER NOT NULL,
    target_id INTEGER NOT NULL,
    process_id INTEGER NOT NULL,
    resolution_ms INTEGER NOT NULL DEFAULT 0,
    samples INTEGER NOT NULL DEFAULT 1,
    batch_id INTEGER,
    rss INTEGER,
    rss_min INTEGER,
    rss_max INTEGER,
    pss INTEGER,
    uss INTEGER,
    swap INTEGER,
    vms INTEGER,
    cpu_percent REAL,
    mem_percent REAL,
    mem_limit_percent REAL,
    threads REAL
  );
  CREATE INDEX process_samples_target_time ON process_samples (target_id, time);
  CREATE INDEX process_samples_process_time ON process_samples (process_id, time);
  CREATE INDEX process_samples_resolution_time ON process_samples (resolution_ms, time);

  CREATE TABLE system_samples (
    time INTEGER NOT NULL,
    resolution_ms INTEGER NOT NULL DEFAULT 0,
    samples INTEGER NOT NULL DEFAULT 1,
    batch_id INTEGER,
    mem_total INTEGER,
    mem_available INTEGER,
    mem_available_min INTEGER,
    mem_used INTEGER,
    mem_percent REAL,
    swap_total INTEGER,
    swap_free INTEGER,
    cpu_count INTEGER,
    cpu_percent REAL,
    load1 REAL,
    load5 REAL,
    load15 REAL
  );
  CREATE INDEX system_samples_resolution_time ON system_samples (resolution_ms, time);

  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,
    target TEXT,
    pid INTEGER,
    start_ticks INTEGER,
    rule TEXT,
    message TEXT NOT NULL,
    details TEXT
  );
  CREATE INDEX events_time ON events (time);

  -- A session without closed_at ended in a crash: the next one records a gap.
  CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    closed_at INTEGER
  );
  `,
  `
  -- What a watcher must remember across its own restarts (scenario 24). Times are wall-clock ms:
  -- a monotonic clock does not outlive the process.

  -- A target memwarden starts itself: its restarts still inside the window, whether it gave up,
  -- and the process it left running (followed by the next watcher, not started again).
  CREATE TABLE supervisors (
    name TEXT PRIMARY KEY,
    restart_times TEXT NOT NULL,
    gave_up INTEGER NOT NULL,
    child_pid INTEGER,
    child_start_ticks INTEGER,
    updated_at INTEGER NOT NULL
  );

  -- When a rule last fired for a process, so its cooldown goes on after a restart. rule_key
  -- names the rule's target, condition, actions and cooldown: an edited rule starts afresh.
  CREATE TABLE rule_firings (
    rule_key TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start_ticks INTEGER NOT NULL,
    fired_at INTEGER NOT NULL,
    firing INTEGER NOT NULL,
    PRIMARY KEY (rule_key, pid, start_ticks)
  );

  -- One row per action, written before it touches anything. outcome is NULL while it runs; a
  -- watcher that finds one at start-up marks it 'unknown': it may or may not have happened.
  CREATE TABLE actions (
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    rule TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start_ticks INTEGER NOT NULL,
    outcome TEXT,
    ended_at INTEGER,
    code TEXT,
    message TEXT
  );
  CREATE INDEX actions_started_at ON actions (started_at);
  CREATE INDEX actions_unfinished ON actions (id) WHERE outcome IS NULL;
  `,
  `
  -- How far a rule's escalation chain got for its current firing: the index of the next step.
  -- NULL when the rule has no chain or a new firing starts it afresh; a watcher restarted
  -- mid-chain resumes there instead of running the chain again from the top.
  ALTER TABLE rule_firings ADD COLUMN chain_step INTEGER;
  `,
  `
  -- Memory pressure (PSI), in percent of time stalled, and the stall totals in microseconds.
  -- The machine's from /proc/pressure/memory; a process row's from its cgroup v2
  -- memory.pressure (avg10 only: the window the rules read). NULL where the kernel keeps none,
  -- and in every row written before this version.
  ALTER TABLE system_samples ADD COLUMN psi_some_avg10 REAL;
  ALTER TABLE system_samples ADD COLUMN psi_some_avg60 REAL;
  ALTER TABLE system_samples ADD COLUMN psi_some_avg300 REAL;
  ALTER TABLE system_samples ADD COLUMN psi_some_total INTEGER;
  ALTER TABLE system_samples ADD COLUMN psi_full_avg10 REAL;
  ALTER TABLE system_samples ADD COLUMN psi_full_avg60 REAL;
  ALTER TABLE system_samples ADD COLUMN psi_full_avg300 REAL;
  ALTER TABLE system_samples ADD COLUMN psi_full_total INTEGER;
  ALTER TABLE process_samples ADD COLUMN cgroup_psi_some REAL;
  ALTER TABLE process_samples ADD COLUMN cgroup_psi_full REAL;
  `,
  `
  -- Most processes have no cgroup pressure: this small index tells a query at once whether its
  -- range holds any, so that it averages those columns only then.
  CREATE INDEX process_samples_cgroup_psi ON process_samples (target_id, time)
    WHERE cgroup_psi_some IS NOT NULL;
  `,
  `
  -- When a group rule (total.pss, count…) last fired for its target, and how far its escalation
  -- chain got: the same as rule_firings, with the target for subject instead of one process.
  CREATE TABLE group_rule_firings (
    rule_key TEXT NOT NULL,
    target TEXT NOT NULL,
    fired_at INTEGER NOT NULL,
    firing INTEGER NOT NULL,
    chain_step INTEGER,
    PRIMARY KEY (rule_key, target)
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function isEmptyDatabase(db: Database.Database): boolean {
  return db.prepare('SELECT count(*) FROM sqlite_master').pluck().get() === 0;
}

/** Refuses a file that is not ours or is newer than this code; never touches it in that case. */
export function checkSchema(db: Database.Database, path: string): number {
  const version = schemaVersion(db);
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId !== APPLICATION_ID && !(appId === 0 && isEmptyDatabase(db))) {
    throw new MemwardenError('MW_INPUT', `${path} is an SQLite file but not a memwarden history file`);
  }
  if (version > SCHEMA_VERSION) {
    throw new MemwardenError(
      'MW_UNSUPPORTED',
      `${path} was written by a newer memwarden (schema ${version}; this one knows up to ${SCHEMA_VERSION}); upgrade memwarden or use another --store`,
    );
  }
  return version;
}

/** Brings the file to SCHEMA_VERSION in one transaction: all steps or none. */
export function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const from = checkSchema(db, path);
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] ?? '');
    if (from < SCHEMA_VERSION) {
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
  }).immediate();
}
