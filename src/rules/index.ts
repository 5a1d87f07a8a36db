/**
 * The rule language and its evaluation: parsing conditions (`rss > 500MB for 3m`) with errors
 * that point at a column, parsing the actions a rule asks for into typed specs, and the engine
 * that keeps a state machine per (rule, process identity) — or, for a group rule
 * (`total.pss > 2GB`), per (rule, target) — pending, firing, resolved, with hysteresis and
 * cooldown on a monotonic clock — and emits `fired`/`resolved` events. Carrying
 * actions out belongs to `actions/`.
 */

export {
  type ActionKind,
  type ActionSpec,
  ActionSpecError,
  DEFAULT_EXEC_TIMEOUT_MS,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  DESTRUCTIVE_ACTIONS,
  type EscalationStep,
  EXEC_PLACEHOLDERS,
  type ExecValues,
  parseAction,
  parseActions,
  renderExecArgv,
  type WaitStep,
} from './actions.js';
export { findOverlaps, type RuleOverlap } from './arbitration.js';
export {
  type Clause,
  type CompareClause,
  type CompareOp,
  type Condition,
  type FlagClause,
  GROUP_METRICS,
  type GroupMetric,
  type Metric,
  type Persistence,
  PRESSURE_METRICS,
  type PressureMetric,
  type RuleScope,
  type ValueUnit,
} from './condition.js';
export {
  type GroupCgroup,
  type GroupObservation,
  MAX_EVENT_MEMBERS,
  type ProcessObservation,
  pressureValue,
  type RememberedFiring,
  RuleEngine,
  type RuleEngineOptions,
  type RuleEngineStats,
  type RuleMemory,
  ruleKey,
  type TickInput,
} from './engine.js';
export type { GroupEventInfo, GroupMember, RuleEvent, SuppressedAction } from './events.js';
export { type RuleNeeds, ruleNeeds } from './needs.js';
export { compileRule, DEFAULT_COOLDOWN_MS, type RuleSpec, type RuleText } from './rule.js';
export { RuleParseError } from './rule-error.js';
export { MAX_WITHIN_CYCLES, type ParseConditionOptions, parseCondition } from './rule-parser.js';
export { type ClauseValue, conditionTruth, type Truth } from './truth.js';
