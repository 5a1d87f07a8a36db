/**
 * sample: successive reads turned into samples — CPU % from tick deltas between two reads,
 * memory % of the machine and of the process's cgroup limit — and the one-shot `listProcesses`
 * and `readSystem` that the CLI and the library expose; group totals over samples, and PSS read
 * on a time budget.
 */

export { emptyGroupTotal, familyKeys, type GroupTotal, groupTotals } from './groups.js';
export { DEFAULT_SAMPLE_MS, type ListOptions, listProcesses, type ProcessList, readSystem } from './list.js';
export { PssBudget, type PssBudgetOptions, type PssBudgetStats } from './pss-budget.js';
export { Sampler } from './sampler.js';
export type { ProcessSample, SystemSample } from './types.js';
