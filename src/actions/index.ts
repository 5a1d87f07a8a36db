/**
 * actions: carrying out what a rule asks — log, exec (an argv, never a shell), signal, webhook,
 * restart of a process memwarden supervises, gc/snapshot/trim through the runtime probes, and
 * escalation chains of them, and the guard's choice of a victim —
 * beside the sampling loop, never in it. This part owns the safety of acting: the identity check
 * right before touching a pid, the protected pids, one destructive action per process and cycle,
 * time limits, capped output and queues, and a typed result for every action, refusals included.
 * It knows nothing of rule syntax: the rules part hands it plain `ActionSpec`s.
 */
export { backoffDelayMs } from './backoff.js';
export { type Clock, systemClock } from './clock.js';
export {
  checkChainIdentity,
  describeEscalation,
  type EscalationEnd,
  type EscalationHooks,
  type EscalationResult,
  type EscalationStep,
  type EscalationStepOutcome,
  type EscalationStepRecord,
  type LiveProcessSource,
  MAX_ESCALATION_STEPS,
  parseEscalation,
  runEscalation,
  stepText,
  type WaitStep,
} from './escalation.js';
export { type ExecOptions, type ExecOutcome, runCommand } from './exec.js';
export { checkIdentity, type IdentityCheck, type IdentitySource } from './identity.js';
export { type Notice, Notifier, type NotifierCounters, type NotifyConfig, noticeText } from './notifiers.js';
export { OverlapGuard } from './overlap.js';
export type { ProbeOptions, ProbeOutcome, RuntimeProbes } from './probes.js';
export { ownPids, protectionReason } from './protect.js';
export {
  type ActionJournal,
  ActionRunner,
  type ActionRunnerEvents,
  type ActionRunnerOptions,
  type RunnerCounters,
} from './runner.js';
export { type SignalOutcome, sendSignal } from './signal.js';
export {
  type ActionContext,
  type ActionKind,
  type ActionResult,
  type ActionSpec,
  type CapturedOutput,
  isDestructive,
  type ResultCode,
} from './spec.js';
export {
  type RestartOutcome,
  Supervisor,
  type SupervisorEvents,
  type SupervisorOptions,
  type SupervisorStatus,
} from './supervisor.js';
export type { PersistedSupervisorState, SupervisorStateStore } from './supervisor-state.js';
export { actionEnv, substitute } from './template.js';
export {
  ancestorPids,
  type Candidate,
  type Exclusion,
  type RankOptions,
  rankVictims,
  type VictimRanking,
} from './victims.js';
export {
  type WebhookCounters,
  type WebhookOutcome,
  type WebhookRequest,
  WebhookSender,
  type WebhookSenderOptions,
} from './webhook.js';
export { webhookPayload } from './webhook-payload.js';
