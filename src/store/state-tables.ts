import type Database from 'better-sqlite3';
import type {
  ActionIntentRecord,
  ActionOutcomeRecord,
  GroupRuleFiringRecord,
  RuleFiringRecord,
  SupervisorRecord,
  UnfinishedAction,
} from './types.js';

/** Where unfinished actions are listed after a crash; the rest are only counted. */
const MAX_LISTED_UNFINISHED = 100;

interface ActionRow {
  id: number;
  started_at: number;
  action: string;
  target: string;
  rule: string;
  pid: number;
  start_ticks: number;
}

/**
 * The watcher's own memory in the history file: supervisor counters, rule cooldowns and the
 * action journal. Writes are closures over the statements so that they can wait in a queue
 * while the file is busy and be replayed, in order, on a reopened file.
 */
export class StateTables {
  private readonly upsertSupervisor: Database.Statement;
  private readonly selectSupervisor: Database.Statement;
  private readonly upsertFiring: Database.Statement;
  private readonly clearFiring: Database.Statement;
  private readonly deleteFirings: Database.Statement;
  private readonly updateChainStep: Database.Statement;
  private readonly upsertGroupFiring: Database.Statement;
  private readonly clearGroupFiring: Database.Statement;
  private readonly updateGroupChainStep: Database.Statement;
  private readonly insertAction: Database.Statement;
  private readonly updateAction: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.upsertSupervisor = db.prepare(
      `INSERT INTO supervisors (name, restart_times, gave_up, child_pid, child_start_ticks, updated_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET restart_times = excluded.restart_times, gave_up = excluded.gave_up,
         child_pid = excluded.child_pid, child_start_ticks = excluded.child_start_ticks,
         updated_at = excluded.updated_at`,
    );
    this.selectSupervisor = db.prepare(
      'SELECT restart_times, gave_up, child_pid, child_start_ticks FROM supervisors WHERE name = ?',
    );
    this.upsertFiring = db.prepare(
      `INSERT INTO rule_firings (rule_key, pid, start_ticks, fired_at, firing) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (rule_key, pid, start_ticks) DO UPDATE SET fired_at = excluded.fired_at,
         firing = excluded.firing, chain_step = NULL`,
    );
    this.clearFiring = db.prepare(
      'UPDATE rule_firings SET firing = 0 WHERE rule_key = ? AND pid = ? AND start_ticks = ?',
    );
    this.deleteFirings = db.prepare('DELETE FROM rule_firings WHERE pid = ? AND start_ticks = ?');
    this.updateChainStep = db.prepare(
      'UPDATE rule_firings SET chain_step = ? WHERE rule_key = ? AND pid = ? AND start_ticks = ?',
    );
    this.upsertGroupFiring = db.prepare(
      `INSERT INTO group_rule_firings (rule_key, target, fired_at, firing) VALUES (?, ?, ?, 1)
       ON CONFLICT (rule_key, target) DO UPDATE SET fired_at = excluded.fired_at, firing = 1,
         chain_step = NULL`,
    );
    this.clearGroupFiring = db.prepare(
      'UPDATE group_rule_firings SET firing = 0 WHERE rule_key = ? AND target = ?',
    );
    this.updateGroupChainStep = db.prepare(
      'UPDATE group_rule_firings SET chain_step = ? WHERE rule_key = ? AND target = ?',
    );
    this.insertAction = db.prepare(
      `INSERT OR IGNORE INTO actions (id, started_at, action, target, rule, pid, start_ticks)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.updateAction = db.prepare(
      'UPDATE actions SET outcome = ?, ended_at = ?, code = ?, message = ? WHERE id = ?',
    );
  }

  nextActionId(): number {
    return ((this.db.prepare('SELECT max(id) FROM actions').pluck().get() as number | null) ?? 0) + 1;
  }

  supervisor(name: string): SupervisorRecord | undefined {
    const row = this.selectSupervisor.get(name) as
      | { restart_times: string; gave_up: number; child_pid: number | null; child_start_ticks: number | null }
      | undefined;
    if (row === undefined) return undefined;
    const record: SupervisorRecord = {
      name,
      restartWallMs: parseTimes(row.restart_times),
      gaveUp: row.gave_up !== 0,
    };
    if (row.child_pid !== null && row.child_start_ticks !== null) {
      record.child = { pid: row.child_pid, startTicks: row.child_start_ticks };
    }
    return record;
  }

  saveSupervisor(record: SupervisorRecord, nowMs: number): void {
    this.upsertSupervisor.run(
      record.name,
      JSON.stringify(record.restartWallMs),
      record.gaveUp ? 1 : 0,
      record.child?.pid ?? null,
      record.child?.startTicks ?? null,
      nowMs,
    );
  }

  ruleFirings(): RuleFiringRecord[] {
    const rows = this.db
      .prepare('SELECT rule_key, pid, start_ticks, fired_at, firing, chain_step FROM rule_firings')
      .all() as (FiringRow & { pid: number; start_ticks: number })[];
    return rows.map((r) => ({ ...firingOf(r), pid: r.pid, startTicks: r.start_ticks }));
  }

  saveRuleFiring(record: RuleFiringRecord): void {
    this.upsertFiring.run(
      record.ruleKey,
      record.pid,
      record.startTicks,
      record.firedAtMs,
      record.firing ? 1 : 0,
    );
  }

  /** The episode ended; its firing time stays, as the cooldown runs from it. */
  clearRuleFiring(ruleKey: string, pid: number, startTicks: number): void {
    this.clearFiring.run(ruleKey, pid, startTicks);
  }

  forgetRuleFirings(pid: number, startTicks: number): void {
    this.deleteFirings.run(pid, startTicks);
  }

  saveChainStep(ruleKey: string, pid: number, startTicks: number, nextStep: number): void {
    this.updateChainStep.run(nextStep, ruleKey, pid, startTicks);
  }

  groupRuleFirings(): GroupRuleFiringRecord[] {
    const rows = this.db
      .prepare('SELECT rule_key, target, fired_at, firing, chain_step FROM group_rule_firings')
      .all() as (FiringRow & { target: string })[];
    return rows.map((r) => ({ ...firingOf(r), target: r.target }));
  }

  saveGroupRuleFiring(ruleKey: string, target: string, firedAtMs: number): void {
    this.upsertGroupFiring.run(ruleKey, target, firedAtMs);
  }

  clearGroupRuleFiring(ruleKey: string, target: string): void {
    this.clearGroupFiring.run(ruleKey, target);
  }

  /** Rows of rules no longer in the config: an edited group rule is a new one. */
  forgetGroupRuleFirings(ruleKey: string): void {
    this.db.prepare('DELETE FROM group_rule_firings WHERE rule_key = ?').run(ruleKey);
  }

  saveGroupChainStep(ruleKey: string, target: string, nextStep: number): void {
    this.updateGroupChainStep.run(nextStep, ruleKey, target);
  }

  beginAction(id: number, intent: ActionIntentRecord): void {
    this.insertAction.run(
      id,
      intent.time,
      intent.action,
      intent.target,
      intent.rule,
      intent.pid,
      intent.startTicks,
    );
  }

  endAction(id: number, outcome: ActionOutcomeRecord): void {
    this.updateAction.run(
      outcome.ok ? 'ok' : 'failed',
      outcome.time,
      outcome.code ?? null,
      outcome.message,
      id,
    );
  }

  /**
   * Marks every action left without an outcome as `unknown` (the watcher that began it stopped
   * first) and returns them, the first MAX_LISTED_UNFINISHED in full, and how many there were.
   */
  closeUnfinished(nowMs: number): { listed: UnfinishedAction[]; count: number } {
    const rows = this.db
      .prepare(
        `SELECT id, started_at, action, target, rule, pid, start_ticks FROM actions
         WHERE outcome IS NULL ORDER BY id LIMIT ${MAX_LISTED_UNFINISHED}`,
      )
      .all() as ActionRow[];
    if (rows.length === 0) return { listed: [], count: 0 };
    const count = this.db
      .prepare(
        `UPDATE actions SET outcome = 'unknown', ended_at = ?,
           message = 'the watcher stopped before this action reported back'
         WHERE outcome IS NULL`,
      )
      .run(nowMs).changes;
    const listed = rows.map((r) => ({
      id: r.id,
      time: r.started_at,
      action: r.action,
      target: r.target,
      rule: r.rule,
      pid: r.pid,
      startTicks: r.start_ticks,
    }));
    return { listed, count };
  }
}

/** What a firing's row holds whatever its subject (a process, or a target as a group). */
interface FiringRow {
  rule_key: string;
  fired_at: number;
  firing: number;
  chain_step: number | null;
}

function firingOf(r: FiringRow): Omit<RuleFiringRecord, 'pid' | 'startTicks'> {
  return {
    ruleKey: r.rule_key,
    firedAtMs: r.fired_at,
    firing: r.firing !== 0,
    ...(r.chain_step === null ? {} : { chainStep: r.chain_step }),
  };
}

function parseTimes(json: string): number[] {
  try {
    const value: unknown = JSON.parse(json);
    if (Array.isArray(value))
      return value.filter((t): t is number => typeof t === 'number' && Number.isFinite(t));
  } catch {
    // a damaged row counts as no restarts, not as a reason to stop supervising
  }
  return [];
}
