/**
 * watch: the daemon. Takes a validated config (from `config/`), wires proc → select → sample → store/export/rules
 * → actions for each tick, runs the services it starts (`run:` targets, the dashboard), reloads
 * on SIGHUP and stops cleanly; `Ticker` is the same sweep → select → sample path without rules,
 * store or actions, for `top` and `serve`.
 */
export { checkListenable, serveWatcher } from './dashboard.js';
export {
  candidateText,
  Guard,
  type GuardDecision,
  type GuardEnd,
  type GuardStep,
} from './guard.js';
export { JsonLinesFile } from './log.js';
export { loadTimeWarnings } from './preflight.js';
export { probeActions } from './probes.js';
export { quickConfig } from './quick.js';
export { TickJsonLines, tickLines } from './report-lines.js';
export { startServices, stopServices } from './services.js';
export { Ticker, type TickerOptions } from './ticker.js';
export { type Cycle, Watcher } from './watcher.js';
