/**
 * config: the YAML config file. Its types and their defaults, the parser (one file per section:
 * targets and their match, rules, restart, listen, guard, notify), the reader that places every
 * problem at its line and column, and the check that refuses a file others could have written.
 */
export {
  DEFAULT_GUARD_ESCALATE,
  DEFAULT_GUARD_WHEN,
  describeGuard,
  type GuardConfig,
  type GuardFlags,
  type GuardScope,
  guardFromFlags,
} from './guard.js';
export { ConfigError, type ConfigIssue, formatIssue } from './issues.js';
export { loadConfig } from './load.js';
export { parseConfig } from './parser.js';
export {
  DEFAULT_INTERVAL_MS,
  DEFAULT_LOG_MAX_SIZE_BYTES,
  DEFAULT_RESTART_POLICY,
  DEFAULT_RETAIN_MS,
  type LoadConfigOptions,
  MIN_INTERVAL_MS,
  type RestartPolicy,
  type TargetConfig,
  type WatchConfig,
} from './types.js';
